"""Computed results, kept by the study's data stamp: per process, and in the database for
the slow ones.

The results document of a 10,000-participant study takes about a second to compute (SQL
aggregates, model fits) and the report's plots as long again to draw; the data they are
computed from change only on writes, and every such write bumps the study's data version
in its own transaction (:mod:`hwtrial.models.data_version`). So:

* a repeat view with the same stamp is served from this process's memory;
* a part that took longer than ``HWTRIAL_RESULTS_INLINE_MS`` to compute is also stored in
  ``hwtrial_results_snapshot`` (written after the response, on a background thread), so
  every other worker process, and a restarted one, serves it without computing it again;
* a caller that accepts it (``stale_ok``: the staff results page, never the API, the CLI
  or the report download) is served the stored part of an older stamp when computing afresh
  would take longer than that budget. It is told when that part was computed (the page
  says so), and the part is recomputed on a background thread, one process at a time, so
  the next view is current. A part computed from another version of the study file is
  never served as stale.

A session whose transaction has written neither reads nor fills the cache (its stamp may
belong to data that will be rolled back).

Stored parts are pickled (they hold plots and flow diagrams, not only JSON) and signed with
HMAC-SHA256 under a key derived from ``HWTRIAL_SECRET_KEY``: a row that does not verify
(written by anything but hwtrial, or under another key) is ignored and recomputed, never
unpickled.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from ..models import ResultsSnapshot, Study, utcnow
from ..models.data_version import results_stamp, wrote_this_transaction

log = logging.getLogger("hwtrial.results")

#: A computation of one part: given a session and the study, returns the part.
Compute = Callable[[Session, Study], Any]

#: Entries kept in memory (a few per study: documents per caller kind and section set, report parts).
CACHE_SIZE = 32
#: Default of ``HWTRIAL_RESULTS_INLINE_MS``.
INLINE_MS = 500
#: How long one process may hold a part it is recomputing before another may try.
REFRESH_HOLD = timedelta(minutes=5)

_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()
#: Counts since start (read by tests and benchmarks): memory hits, stored (database) hits,
#: stale parts served, computations, parts stored, background refreshes done.
STATS = {"hits": 0, "stored_hits": 0, "stale": 0, "misses": 0, "stores": 0, "refreshes": 0}
#: One background thread per process stores and refreshes parts, in order.
_BACKGROUND = ThreadPoolExecutor(1, thread_name_prefix="hwtrial-results-refresh")
#: Parts this process has queued for a refresh (dropped when it ran).
_QUEUED: set[tuple] = set()
_PENDING: list[Future] = []


@dataclass(frozen=True)
class Served:
    """A part and, when it is not current, when it was computed."""

    value: Any
    #: None: computed from the data as they are now. Else the time the stale part was
    #: computed (a newer one is being computed).
    stale_since: datetime | None = None


def part_name(part: tuple) -> str:
    return "|".join("" if p is None else ",".join(p) if isinstance(p, tuple) else str(p) for p in part)


def _stamp(session: Session, study: Study, valid_for: tuple) -> str:
    data, version, events = results_stamp(session, study.id)
    return ":".join(str(v) for v in (data, version, events, *valid_for))


def _version_of(stamp: str) -> str:
    return stamp.split(":")[1]


def _inline_ms(app: Flask | None) -> int:
    return int(app.config.get("HWTRIAL_RESULTS_INLINE_MS", INLINE_MS)) if app is not None else INLINE_MS


def _app() -> Flask | None:
    return current_app._get_current_object() if has_app_context() else None


def cached(session: Session, study: Study, part: tuple, compute: Compute, *,
           valid_for: tuple = (), stale_ok: bool = False) -> Any:
    """``compute(session, study)``, or a copy of what it returned for the same study stamp
    and ``part`` (see :func:`lookup`)."""
    return lookup(session, study, part, compute, valid_for=valid_for, stale_ok=stale_ok).value


def lookup(session: Session, study: Study, part: tuple, compute: Compute, *,
           valid_for: tuple = (), stale_ok: bool = False) -> Served:
    """The part ``part`` of ``study``: current from memory or the database, else computed,
    else (``stale_ok`` and computing is slow) the stored part of an older stamp.

    ``valid_for`` narrows what counts as current beyond the data stamp (e.g. the quarter hour
    whose follow-up windows the report judged). ``compute`` must read through the session it
    is given, not one it closed over: a background refresh calls it with its own. Copies go
    out (deep), so a caller that changes what it got cannot change the cache.
    """
    if wrote_this_transaction(session):
        return Served(compute(session, study))
    app = _app()
    name = part_name(part)
    stamp = _stamp(session, study, valid_for)
    key = (str(session.get_bind().url), study.id, study.created_at, stamp, name)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            STATS["hits"] += 1
            return Served(copy.deepcopy(_CACHE[key]))
    row = _stored_row(session, app, study.id, name)
    if row is not None and row.stamp == stamp:
        value = _load(app, session, row)
        if value is not _INVALID:
            STATS["stored_hits"] += 1
            _remember(key, value)
            return Served(value)
    elif (stale_ok and row is not None and row.compute_ms > _inline_ms(app)
          and _version_of(row.stamp) == _version_of(stamp)):
        value = _load(app, session, row)
        if value is not _INVALID:
            STATS["stale"] += 1
            _refresh_later(app, study.id, name, compute, valid_for)
            return Served(value, stale_since=row.computed_at)
    started = time.perf_counter()
    value = compute(session, study)
    took = round((time.perf_counter() - started) * 1000)
    STATS["misses"] += 1
    _remember(key, value)
    if app is not None and took > _inline_ms(app):
        _submit((app, study.id, name, "store"), _store, app, study.id, name, stamp, copy.deepcopy(value), took)
    return Served(value)


def _remember(key: tuple, value: Any) -> None:
    with _LOCK:
        _CACHE[key] = copy.deepcopy(value)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)


# --- stored parts ---------------------------------------------------------------------------

def _signing_key(app: Flask) -> bytes:
    return hashlib.sha256(b"hwtrial results snapshot\0" + str(app.config["HWTRIAL_SECRET_KEY"]).encode()).digest()


def _seal(app: Flask, value: Any) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return hmac.new(_signing_key(app), body, hashlib.sha256).digest() + body


def _unseal(app: Flask, payload: bytes) -> Any:
    tag, body = bytes(payload[:32]), bytes(payload[32:])
    if not hmac.compare_digest(tag, hmac.new(_signing_key(app), body, hashlib.sha256).digest()):
        raise ValueError("signature does not verify")
    return pickle.loads(body)  # noqa: S301 (verified above: written by hwtrial under this key)


_INVALID = object()


def _stored_row(session: Session, app: Flask | None, study_id: int, name: str):
    """The stored part's ``id, stamp, computed_at, compute_ms`` (not its payload), or None."""
    if app is None:
        return None
    table = ResultsSnapshot.__table__
    return session.execute(sa.select(table.c.id, table.c.stamp, table.c.computed_at, table.c.compute_ms)
                           .where(table.c.study_id == study_id, table.c.part == name)).first()


def _load(app: Flask, session: Session, row) -> Any:
    """The stored part's value (read only when it will be served), or ``_INVALID``."""
    table = ResultsSnapshot.__table__
    payload = session.scalar(sa.select(table.c.payload).where(table.c.id == row.id))
    try:
        return _unseal(app, payload)
    except Exception:  # a row that does not verify (or no longer loads) is recomputed
        log.warning("results snapshot %s ignored: it does not verify", row.id)
        return _INVALID


def _store(app: Flask, study_id: int, name: str, stamp: str, value: Any, took: int) -> None:
    """Write (or replace) the stored part, in its own transaction."""
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        try:
            _upsert(session, app, study_id, name, stamp, value, took)
            session.commit()
            STATS["stores"] += 1
        finally:
            session.rollback()
            app.extensions["hwtrial"].db.session.remove()


def _upsert(session: Session, app: Flask, study_id: int, name: str, stamp: str, value: Any, took: int) -> None:
    table = ResultsSnapshot.__table__
    values = {"stamp": stamp, "computed_at": utcnow(), "compute_ms": took, "payload": _seal(app, value),
              "refreshing_until": None}
    done = session.execute(table.update().where(table.c.study_id == study_id, table.c.part == name)
                           .values(**values)).rowcount
    if not done:
        session.execute(table.insert().values(study_id=study_id, part=name, **values))


def _refresh_later(app: Flask, study_id: int, name: str, compute: Compute, valid_for: tuple) -> None:
    _submit((app, study_id, name, "refresh"), _refresh, app, study_id, name, compute, valid_for)


def _refresh(app: Flask, study_id: int, name: str, compute: Compute, valid_for: tuple) -> None:
    """Recompute a stale stored part, unless another process holds it or it is current."""
    table = ResultsSnapshot.__table__
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        try:
            now = utcnow()
            held = session.execute(table.update().where(
                table.c.study_id == study_id, table.c.part == name,
                sa.or_(table.c.refreshing_until.is_(None), table.c.refreshing_until < now))
                .values(refreshing_until=now + REFRESH_HOLD)).rowcount
            session.commit()
            if not held:
                return
            study = session.get(Study, study_id)
            stamp = _stamp(session, study, valid_for)
            current = session.scalar(sa.select(table.c.stamp).where(table.c.study_id == study_id,
                                                                     table.c.part == name))
            if current != stamp:
                started = time.perf_counter()
                value = compute(session, study)
                took = round((time.perf_counter() - started) * 1000)
                session.rollback()  # end the read transaction before writing
                _upsert(session, app, study_id, name, stamp, value, took)
                STATS["refreshes"] += 1
            else:
                session.execute(table.update().where(table.c.study_id == study_id, table.c.part == name)
                                .values(refreshing_until=None))
            session.commit()
        except Exception:
            session.rollback()
            log.exception("refreshing results snapshot %s of study %s failed", name, study_id)
            try:  # let the next view (of any process) try again at once
                session.execute(table.update().where(table.c.study_id == study_id, table.c.part == name)
                                .values(refreshing_until=None))
                session.commit()
            except Exception:  # the database is gone: the hold runs out by itself
                session.rollback()
        finally:
            app.extensions["hwtrial"].db.session.remove()


def _submit(token: tuple, fn: Callable, *args) -> None:
    with _LOCK:
        if token in _QUEUED:
            return
        _QUEUED.add(token)

    def run() -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("results background job failed")
        finally:
            with _LOCK:
                _QUEUED.discard(token)

    future = _BACKGROUND.submit(run)
    with _LOCK:
        _PENDING[:] = [f for f in _PENDING if not f.done()] + [future]


def wait_background(timeout: float = 60.0) -> None:
    """Block until this process's queued stores and refreshes have run (tests, benchmarks,
    a worker about to exit)."""
    with _LOCK:
        pending = list(_PENDING)
    for future in pending:
        future.result(timeout=timeout)


def clear() -> None:
    """Forget what this process keeps in memory (stored parts stay)."""
    with _LOCK:
        _CACHE.clear()
