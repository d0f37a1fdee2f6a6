"""Recruitment-platform entry (``/r/<study>``) and the completion redirect (``/p/complete``).

GET only shows a "Continue" page: signing a browser in takes a POST with the CSRF token, so a
third-party page cannot sign a visitor in as someone of its choosing (login CSRF).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ..auth.load import current_principal
from ..extensions import get_session
from ..models import Study
from ..services import audit, recruitment, sessions
from . import throttle
from .auth import _set_session_cookie
from .csrf import check_csrf, set_pre_session_cookie

bp = Blueprint("hwtrial_recruitment", __name__)


@bp.route("/r/<study_key>", methods=["GET", "POST"])
def prolific_entry(study_key):
    """GET: check the link, show a button; POST: enrol or re-enter, sign in, go to ``/p/``."""
    throttle.attempt("entry", "HWTRIAL_ENTRY_LIMIT_ADDRESS", throttle.client_address())
    session, args = get_session(), request.values
    study = recruitment.entry_study(session, study_key, args.get(recruitment.ENTRY_PARAM, ""))
    if request.method == "GET":
        recruitment.check_entry(study, args)
        fields = {k: v for k, v in request.args.items() if k != "csrf_token"}
        response = current_app.make_response(
            render_template("hwtrial/recruitment_start.html", study_key=study.key, fields=fields))
        set_pre_session_cookie(response)
        return response
    check_csrf()
    participant = recruitment.prolific_enter(session, study, args, current_principal().participant)
    lifetime = timedelta(days=current_app.config["HWTRIAL_PARTICIPANT_SESSION_DAYS"])
    secret = sessions.open_session(session, lifetime, participant=participant)
    audit.record(session, actor=f"participant:{participant.id}", action="participant.sign_in",
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"via": "prolific"})
    g.hwtrial_new_session = secret
    return _set_session_cookie(redirect(url_for("hwtrial_participant.home")), secret, lifetime)


@bp.route("/p/complete")
def complete():
    """Send a signed-in participant back to the platform with the completion code."""
    participant = current_principal().participant
    study = get_session().get(Study, participant.study_id)
    return redirect(recruitment.completion_url(study))
