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
from ..services import audit, participant_entry, recruitment, sessions
from ..services.participant_flow import definition_of
from . import throttle
from .auth import _set_session_cookie
from .csrf import check_csrf, set_pre_session_cookie
from .participant import _ctx, accept_languages, i18n_values

bp = Blueprint("hwtrial_recruitment", __name__)


@bp.route("/r/<study_key>", methods=["GET", "POST"])
def prolific_entry(study_key):
    """GET: check the link, show a button; POST: enrol or re-enter, sign in, go to ``/p/``."""
    throttle.attempt("entry", "HWTRIAL_ENTRY_LIMIT_ADDRESS", throttle.client_address())
    session, args = get_session(), request.values
    study = recruitment.entry_study(session, study_key, args.get(recruitment.ENTRY_PARAM, ""))
    definition = definition_of(session, study)
    # The switcher's choice, else the browser's language among the study's, else its default.
    locale = participant_entry.choose_locale(definition, None, args.get("lang"), accept_languages())
    if request.method in ("GET", "HEAD"):
        recruitment.check_entry(study, args)
        fields = {k: v for k, v in request.args.items() if k not in ("csrf_token", "lang")}
        response = current_app.make_response(render_template(
            "hwtrial/recruitment_start.html", study_key=study.key, fields=fields, definition=definition,
            locale=locale, **i18n_values(locale)))
        set_pre_session_cookie(response)
        return response
    check_csrf()
    participant = recruitment.prolific_enter(session, study, args, current_principal().participant, locale=locale)
    lifetime = timedelta(days=current_app.config["HWTRIAL_PARTICIPANT_SESSION_DAYS"])
    secret = sessions.open_session(session, lifetime, participant=participant)
    audit.record(session, actor=f"participant:{participant.id}", action="participant.sign_in",
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"via": "prolific"})
    g.hwtrial_new_session = secret
    return _set_session_cookie(redirect(url_for("hwtrial_participant.home")), secret, lifetime)


@bp.route("/p/complete")
def complete():
    """Send a signed-in participant back to the platform with the completion code, or thank them
    on a page of their own when the study has no completion URL (not recruited on a platform)."""
    participant = current_principal().participant
    study = get_session().get(Study, participant.study_id)
    url = recruitment.completion_url_or_none(study)
    if url is not None:
        return redirect(url)
    ctx = _ctx()
    return render_template("hwtrial/participant/complete.html", ctx=ctx, **i18n_values(ctx.locale))
