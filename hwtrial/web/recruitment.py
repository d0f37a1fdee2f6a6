"""Recruitment-platform entry (``/r/<study>``) and the completion redirect (``/p/complete``)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, redirect, request, url_for

from ..auth.load import current_principal
from ..extensions import get_session
from ..models import Study
from ..services import audit, recruitment, sessions, studies
from .auth import _set_session_cookie

bp = Blueprint("hwtrial_recruitment", __name__)


@bp.route("/r/<study_key>")
def prolific_entry(study_key):
    """Enrol idempotently from the platform's URL, sign the participant in, go to ``/p/``."""
    session = get_session()
    study = studies.get_study(session, None, study_key)
    participant = recruitment.prolific_enrol(session, study, request.args)
    lifetime = timedelta(days=current_app.config["HWTRIAL_PARTICIPANT_SESSION_DAYS"])
    secret = sessions.open_session(session, lifetime, participant=participant)
    audit.record(session, actor=f"participant:{participant.id}", action="participant.sign_in",
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"via": "prolific"})
    response = redirect(url_for("hwtrial_participant.home"))
    response.headers["Referrer-Policy"] = "no-referrer"
    return _set_session_cookie(response, secret, lifetime)


@bp.route("/p/complete")
def complete():
    """Send a signed-in participant back to the platform with the completion code."""
    participant = current_principal().participant
    study = get_session().get(Study, participant.study_id)
    return redirect(recruitment.completion_url(study))
