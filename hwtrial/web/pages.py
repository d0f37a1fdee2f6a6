"""Landing, health and staff pages. The participant app adds its own routes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from ..auth.load import current_principal
from ..extensions import get_session
from ..services import studies

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
    principal = current_principal()
    return render_template("hwtrial/staff_home.html",
                           studies=studies.list_studies(get_session(), principal))

