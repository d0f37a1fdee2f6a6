"""Render a refused use case as a page (the API renders the same error as JSON)."""

from __future__ import annotations

from flask import render_template


def render_service_error(error, name: str):
    return render_template("hwtrial/error.html", error=error, name=name), error.status
