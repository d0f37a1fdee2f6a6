"""Security headers on every hwtrial response (one ``after_request`` hook calls :func:`apply`).

Participant links carry tokens and pages carry health data, hence no Referer, no caching and
no framing anywhere; the CSP allows no inline script or style (templates use static files).
"""

from __future__ import annotations

from flask import current_app, g, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
#: Endpoints whose answers hold no personal data and may be cached.
CACHEABLE = frozenset({"static", "hwtrial_web.static", "hwtrial-api-docs.openapi_json"})


def secure_cookies() -> bool:
    """Whether cookies get ``Secure``: the setting, else whether this request came over https."""
    forced = current_app.config.get("HWTRIAL_SECURE_COOKIES")
    return bool(forced) if forced is not None else request.is_secure


def apply(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint not in CACHEABLE:
        headers["Cache-Control"] = "no-store"
    if request.is_secure or current_app.config.get("HWTRIAL_SECURE_COOKIES"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    retry_after = g.get("hwtrial_retry_after")
    if retry_after and response.status_code in (429, 503):
        headers["Retry-After"] = str(retry_after)
    return response
