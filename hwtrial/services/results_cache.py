"""Computed results kept per process, keyed by the study's data stamp.

The results document of a 10,000-participant study takes about a second to compute (SQL
aggregates, model fits) and the report's plots as long again to draw; the data they are
computed from change only on writes, and every such write bumps the study's data version
in its own transaction (:mod:`hwtrial.models.data_version`). A repeat view with the same
stamp is served from here; any write makes the next view compute afresh, so a stale result
is never shown. Each worker process keeps its own copy (a change is seen by the next request
of every worker, since the stamp is read from the database on every request).

A session whose transaction has written neither reads nor fills the cache (its stamp may
belong to data that will be rolled back).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ..models import Study
from ..models.data_version import results_stamp, wrote_this_transaction

#: Entries kept (a few per study: documents per caller kind and section set, report parts).
CACHE_SIZE = 32

_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()
#: Hits and misses since start (read by tests and benchmarks).
STATS = {"hits": 0, "misses": 0}


def study_key(session: Session, study: Study) -> tuple:
    """Which study in which database, in which data state (ids repeat across databases)."""
    return (str(session.get_bind().url), study.id, study.created_at, results_stamp(session, study.id))


def cached(session: Session, study: Study, part: tuple, compute: Callable[[], Any], *,
           stamp: tuple | None = None) -> Any:
    """``compute()``, or a copy of what it returned for the same study stamp and ``part``.

    Copies go out (deep), so a caller that changes what it got cannot change the cache.
    """
    if wrote_this_transaction(session):
        return compute()
    key = (*(stamp or study_key(session, study)), *part)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            STATS["hits"] += 1
            return copy.deepcopy(_CACHE[key])
    value = compute()
    with _LOCK:
        STATS["misses"] += 1
        _CACHE[key] = copy.deepcopy(value)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def clear() -> None:
    with _LOCK:
        _CACHE.clear()
