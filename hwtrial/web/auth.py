"""Staff sign-in/out and the participant access-link exchange."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ..api.fields import whole_number
from ..auth.links import LinkError
from ..auth.load import SESSION_COOKIE, current_principal
from ..errors import ServiceError
from ..extensions import get_session, state
from ..models import utcnow
from ..services import sessions, users
from . import throttle
from .csrf import check_csrf, set_pre_session_cookie
from .headers import secure_cookies

bp = Blueprint("hwtrial_auth", __name__)


def _set_session_cookie(response, secret: str, lifetime: timedelta):
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="Lax", secure=secure_cookies())
    return response


def _login_page(status: int = 200, email: str = "", error: str | None = None):
    page = render_template("hwtrial/login.html", email=email, error=error,
                           next=safe_next(request.values.get("next")))
    response = current_app.make_response((page, status))
    set_pre_session_cookie(response)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method in ("GET", "HEAD"):
        return _login_page()
    check_csrf()
    session, email = get_session(), request.form.get("email", "")
    # Failures are counted per client address and per account (unknown emails alike, so a
    # 429 tells nothing about which accounts exist). The account's attempt is counted before
    # the password is checked, in one step with the test, so parallel guesses at one account
    # get exactly its limit; the right password then forgets the account's count. The address
    # counts failures only (a clinic behind one address signs in often), checked first.
    address = ("login-address", "HWTRIAL_LOGIN_LIMIT_ADDRESS", throttle.client_address())
    account = ("login-account", "HWTRIAL_LOGIN_LIMIT_ACCOUNT", email.strip().lower())
    throttle.check(*address)
    throttle.reserve(*account)
    user = users.authenticate(session, email, request.form.get("password", ""))
    if user is None:
        throttle.hit(*address)
        # The form again, with the email kept and the problem next to the password (401).
        return _login_page(401, email[:254], "Wrong email or password.")
    throttle.clear(*account)
    lifetime = timedelta(hours=current_app.config["HWTRIAL_SESSION_HOURS"])
    secret = sessions.open_session(session, lifetime, user=user)
    landing = safe_next(request.form.get("next")) or url_for("hwtrial_staff.study_list")
    return _set_session_cookie(redirect(landing), secret, lifetime)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a staff page of this site (a path, no scheme or host), else None.

    Only paths under ``<prefix>/staff/`` come back, so a crafted sign-in link cannot send a
    staff member to another site (``//evil``, ``/\\evil``, ``https:``) or to an API action.
    """
    if not target or len(target) > 2000 or any(c in target for c in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(target)
    staff = state().url_prefix + "/staff"
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if parts.path != staff and not parts.path.startswith(staff + "/"):
        return None
    return target


@bp.route("/logout", methods=["POST"])
def logout():
    check_csrf()
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        sessions.close_session(get_session(), secret)
    response = redirect(url_for("hwtrial_web.index"))
    response.delete_cookie(SESSION_COOKIE)
    return response


@bp.route("/p/start", methods=["GET", "POST"])
def participant_start():
    """GET shows a button (link scanners must not use up the link); POST swaps it for a session.

    The token travels in the query string or form, never in a path, so access logs can redact
    it (see :mod:`hwtrial.redaction`); the page sends no Referer.
    """
    token = request.values.get("token", "")
    reminder = request.values.get("reminder", "")
    reminder = whole_number(reminder)
    if request.method in ("GET", "HEAD"):
        response = current_app.make_response(render_template("hwtrial/participant_start.html", token=token,
                                                              reminder=reminder))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        set_pre_session_cookie(response)
        return response
    check_csrf()
    throttle.attempt("entry", "HWTRIAL_ENTRY_LIMIT_ADDRESS", throttle.client_address())
    config = current_app.config
    try:
        participant, secret = sessions.exchange_link(
            get_session(), config["HWTRIAL_SECRET_KEY"], token,
            timedelta(days=config["HWTRIAL_PARTICIPANT_LINK_DAYS"]),
            timedelta(days=config["HWTRIAL_PARTICIPANT_SESSION_DAYS"]))
    except LinkError as error:
        raise ServiceError(403, f"this link is {error.reason}; ask the study team for a new one") from None
    g.hwtrial_new_session = secret
    lifetime = timedelta(days=config["HWTRIAL_PARTICIPANT_SESSION_DAYS"])
    landing = url_for("hwtrial_participant.home")
    if reminder is not None:  # a reminder's link: record the click, open its task
        from ..reminders.clicks import record_click

        instance_id = record_click(get_session(), participant, reminder, utcnow())
        if instance_id is not None:
            landing = url_for("hwtrial_participant.task", instance_id=instance_id)
    return _set_session_cookie(redirect(landing), secret, lifetime)


@bp.app_context_processor
def _inject():
    from .csrf import csrf_token

    return {"csrf_token": csrf_token, "principal": current_principal()}
