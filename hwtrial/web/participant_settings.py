"""The participant's language switcher and settings page (language, time zone).

Routes of the participant blueprint (:mod:`.participant`); each POST checks the CSRF token.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from ..errors import ServiceError
from ..extensions import get_session
from ..models import utcnow
from ..services import participant_settings as settings
from .csrf import check_csrf
from .participant import _ctx, _render, bp


def _back(default: str) -> str:
    """Where the switcher was used: a participant page of this app, never another site."""
    target = request.form.get("next", "")
    home = url_for(".home")
    if target.startswith(home) and "//" not in target and "\\" not in target and len(target) < 500:
        return target
    return default


@bp.route("/language", methods=["POST"])
def language():
    """Store the language chosen with the switcher and show the same page in it."""
    ctx = _ctx()
    check_csrf()
    settings.set_locale(get_session(), ctx.participant, ctx.study, ctx.definition, request.form.get("locale", ""))
    return redirect(_back(url_for(".home")))


@bp.route("/settings", methods=["GET", "POST"])
def preferences():
    """Language and time zone; a new time zone re-plans homework and reminders."""
    ctx, session = _ctx(), get_session()
    zones = settings.common_timezones(ctx.participant.timezone)
    if request.method in ("GET", "HEAD"):
        return _render("settings.html", ctx, zones=zones, errors={}, saved=request.args.get("saved") == "1")
    check_csrf()
    try:
        settings.set_timezone(session, ctx.participant, ctx.study, ctx.definition,
                              request.form.get("timezone", ""), utcnow())
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("settings.html", ctx, 422, zones=zones, errors=error.errors, saved=False)
    return redirect(url_for(".preferences", saved=1))
