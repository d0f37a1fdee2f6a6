"""Throttling of sign-in, link exchange and recruitment entry (the ``limits`` library).

Counters live in Redis when ``HWTRIAL_RATELIMIT_STORAGE_URL`` names one (shared by every
gunicorn worker and host), else in this process's memory. A refused request answers 429
with ``Retry-After`` (set by :mod:`.headers` from ``g.hwtrial_retry_after``); while the
counter store is unreachable, throttled routes answer 503 with ``Retry-After`` (fail closed).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from contextlib import contextmanager

from flask import current_app, g, request
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..errors import ServiceError

_KEY = "hwtrial.throttle"


_CREATE = threading.Lock()


def _limiter() -> MovingWindowRateLimiter:
    app = current_app._get_current_object()
    limiter = app.extensions.get(_KEY)
    if limiter is not None:
        return limiter
    # One limiter per app: threads that arrive together must not each make a memory store
    # of their own (the counts of all but one would be lost).
    with _CREATE:
        limiter = app.extensions.get(_KEY)
        if limiter is not None:
            return limiter
        url = app.config["HWTRIAL_RATELIMIT_STORAGE_URL"] or "memory://"
        # The prefix may be set per app (tests keep their keys apart in a shared Redis).
        prefix = app.extensions.get(_KEY + ".prefix", "hwtrial")
        options = {"key_prefix": prefix} if url.startswith(("redis://", "rediss://")) else {}
        storage = storage_from_string(url, wrap_exceptions=True, **options)
        limiter = app.extensions[_KEY] = MovingWindowRateLimiter(storage)
    return limiter


#: Seconds a client is asked to wait while the counter store is unreachable.
STORAGE_RETRY_AFTER = 30


@contextmanager
def _storage_guard():
    # Fail closed: without counters sign-in cannot be throttled, so it waits (503) rather
    # than letting guesses through unlimited or answering 500.
    try:
        yield
    except StorageError:
        current_app.logger.warning("rate-limit storage unreachable", exc_info=True)
        g.hwtrial_retry_after = STORAGE_RETRY_AFTER
        raise ServiceError(503, "sign-in is briefly unavailable; please try again shortly") from None


def client_address() -> str:
    """The client's address as the WSGI server sees it (behind a proxy: configure ProxyFix)."""
    return request.remote_addr or "unknown"


def _ident(value: str) -> str:
    # Hashed so that emails and addresses are not stored in the clear in the counter store.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _refuse(limiter: MovingWindowRateLimiter, item, kind: str, value: str):
    with _storage_guard():
        reset = limiter.get_window_stats(item, kind, _ident(value)).reset_time
    g.hwtrial_retry_after = max(1, math.ceil(reset - time.time()))
    raise ServiceError(429, "too many attempts; please wait and try again",
                       {"_schema": [f"retry after {g.hwtrial_retry_after} seconds"]})


def _gate(kind: str, limit_key: str, value: str, *, count: bool) -> None:
    item = parse(current_app.config[limit_key])
    limiter = _limiter()
    with _storage_guard():
        allowed = limiter.hit(item, kind, _ident(value)) if count else limiter.test(item, kind, _ident(value))
    if not allowed:
        _refuse(limiter, item, kind, value)


def check(kind: str, limit_key: str, value: str) -> None:
    """429 when ``value`` (an address or account) has used up the ``limit_key`` setting's limit."""
    _gate(kind, limit_key, value, count=False)


def reserve(kind: str, limit_key: str, value: str) -> None:
    """Count one attempt now, or 429 if none is left: test and count are one step in the store,
    so concurrent requests cannot all pass a check made before any of them was counted."""
    _gate(kind, limit_key, value, count=True)


def clear(kind: str, limit_key: str, value: str) -> None:
    """Forget ``value``'s counted attempts (an account after its right password)."""
    with _storage_guard():
        _limiter().clear(parse(current_app.config[limit_key]), kind, _ident(value))


def hit(kind: str, limit_key: str, value: str) -> None:
    """Count one attempt (for sign-in: one failure) against ``value``."""
    with _storage_guard():
        _limiter().hit(parse(current_app.config[limit_key]), kind, _ident(value))


def attempt(kind: str, limit_key: str, value: str) -> None:
    """Check, then count: for routes where every request counts."""
    check(kind, limit_key, value)
    hit(kind, limit_key, value)
