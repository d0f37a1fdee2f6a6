"""CSRF protection for hwtrial's forms: a token bound to the server-side session.

Before a session exists (sign-in, link exchange) a double-submit cookie is used instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, g, request

from ..errors import ServiceError

PRE_SESSION_COOKIE = "hwtrial_csrf"


def _sign(value: str) -> str:
    key = current_app.config["HWTRIAL_SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The token to put in every form (``{{ csrf_token() }}`` in templates)."""
    from ..auth.load import SESSION_COOKIE

    session_secret = request.cookies.get(SESSION_COOKIE) or g.get("hwtrial_new_session")
    if session_secret:
        return _sign(session_secret)
    nonce = request.cookies.get(PRE_SESSION_COOKIE) or g.get("hwtrial_csrf_nonce")
    if not nonce:
        nonce = g.hwtrial_csrf_nonce = secrets.token_urlsafe(16)
    return _sign("pre:" + nonce)


def check_csrf() -> None:
    from ..auth.load import SESSION_COOKIE

    sent = request.form.get("csrf_token", "")
    session_secret = request.cookies.get(SESSION_COOKIE)
    candidates = []
    if session_secret:
        candidates.append(_sign(session_secret))
    nonce = request.cookies.get(PRE_SESSION_COOKIE)
    if nonce:
        candidates.append(_sign("pre:" + nonce))
    if not sent or not any(hmac.compare_digest(sent, c) for c in candidates):
        raise ServiceError(400, "the form expired or came from another site; reload the page and try again",
                           {"csrf_token": ["missing or invalid"]})


def check_csrf_header() -> None:
    """Cookie-authenticated API writes: the ``X-CSRF-Token`` header must hold the session's token.

    A cross-site form can send the cookie but cannot set a header (or read the token), so a
    same-site POST cannot act with a staff member's session. Bearer tokens are not affected.
    """
    from ..auth.load import SESSION_COOKIE

    sent = request.headers.get("X-CSRF-Token", "")
    session_secret = request.cookies.get(SESSION_COOKIE, "")
    if not sent or not session_secret or not hmac.compare_digest(sent, _sign(session_secret)):
        raise ServiceError(403, "cookie-authenticated API writes need the X-CSRF-Token header",
                           {"X-CSRF-Token": ["missing or invalid"]})


def set_pre_session_cookie(response) -> None:
    from .headers import secure_cookies

    nonce = g.get("hwtrial_csrf_nonce")
    if nonce:
        response.set_cookie(PRE_SESSION_COOKIE, nonce, httponly=True, samesite="Lax",
                            secure=secure_cookies())
