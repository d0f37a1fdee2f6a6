"""Landing, health and staff pages. The participant app adds its own routes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, url_for

from ..extensions import get_session

bp = Blueprint("hwtrial_web", __name__, template_folder="../templates",
               static_folder="../static/hwtrial", static_url_path="/static/hwtrial")


@bp.route("/")
def index():
    return render_template("hwtrial/index.html")


@bp.route("/healthz")
def healthz():
    get_session().execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/staff")
def staff_home():
    """The staff home is the study list (kept so old bookmarks and links still work)."""
    return redirect(url_for("hwtrial_staff.study_list"))
