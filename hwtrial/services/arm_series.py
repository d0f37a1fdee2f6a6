"""Use case: the per-arm series of a study (enrolment per day, strata per arm, weekly
adherence), for the staff study page (:mod:`.study_dashboard`) and the trial report
(:mod:`.report`), so both show the same numbers from the same queries.

Each part is one grouped aggregate in SQL (a few hundred rows come back, whatever the
study's size), by arm *key* (``None``: not allocated); callers name arms as their caller may
see them. The rows are kept per process while the study's cheap fingerprints (index-only
counts) say they still hold. Read-only.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Study

PARTS = ("enrolment", "strata", "adherence")


@dataclass(frozen=True)
class ArmSeries:
    """Grouped rows by arm key (``None``: participants without an allocation).

    Attributes
    ----------
    enrolment : list of (date, arm key, int)
        Participants enrolled per UTC day and arm, by day.
    strata : list of (dict, arm key, int)
        Participants per combination of stratification levels (``{}``: none) and arm.
    adherence : list of (date, arm key, int, int)
        Closed homework (submitted or expired) and submitted, per week (the Monday of the
        due date, UTC) and arm, by week then arm key.
    """

    enrolment: list[tuple[date, str | None, int]]
    strata: list[tuple[dict, str | None, int]]
    adherence: list[tuple[date, str | None, int, int]]


def arm_series(session: Session, study: Study, parts: Iterable[str] = PARTS) -> ArmSeries:
    """The per-arm series of ``study`` (only ``parts``; the others are empty)."""
    parts = set(parts)
    people = _people_fingerprint(session, study)
    ident = _identity(session, study)
    enrolment = (_cached((*ident, "enrolment", people), lambda: _enrolment_rows(session, study))
                 if "enrolment" in parts else [])
    strata = (_cached((*ident, "strata", people), lambda: _strata_rows(session, study))
              if "strata" in parts and study.definition.get("stratification") else [])
    adherence = []
    if "adherence" in parts:
        key = (*ident, "adherence", people, _homework_fingerprint(session, study))
        adherence = _weeks(_cached(key, lambda: _adherence_rows(session, study)))
    return ArmSeries(enrolment=enrolment, strata=[(json.loads(s) if s else {}, arm, n) for s, arm, n in strata],
                     adherence=adherence)


#: Raw aggregates kept per (study, part, fingerprint), most recently used last.
_CACHE: OrderedDict[tuple, list] = OrderedDict()
CACHE_SIZE = 64


def _cached(key: tuple, compute: Callable[[], list]) -> list:
    """``compute()``'s rows, reused while the study's fingerprint (part of ``key``) holds.

    The grouped scans cost tens to hundreds of milliseconds at 10,000 participants; the
    fingerprints that guard them are index-only counts of a few milliseconds. Each process
    keeps its own copy: a change is seen by the next request of every worker.
    """
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    rows = compute()
    _CACHE[key] = rows
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return rows


def _identity(session: Session, study: Study) -> tuple:
    """Which study in which database: ids repeat across databases (and after a test empties
    one), the creation time with the id does not."""
    return (str(session.get_bind().url), study.id, study.created_at)


def _people_fingerprint(session: Session, study: Study) -> tuple:
    """Enrolment, strata and arms change only when participants or allocations are added
    (a participant's enrolment time, strata and arm never change afterwards)."""
    return tuple(session.execute(sa.text(
        "SELECT (SELECT COUNT(*) FROM hwtrial_participant WHERE study_id = :sid), "
        "(SELECT COUNT(*) FROM hwtrial_allocation WHERE study_id = :sid)"), {"sid": study.id}).one())


def _homework_fingerprint(session: Session, study: Study) -> tuple:
    """Closed homework only grows (submitted and expired are final states; a closed
    instance's due time never moves), so its counts tell whether adherence changed."""
    # One count per state: each an index-only count on (study_id, state).
    return tuple(session.execute(sa.text(
        "SELECT (SELECT COUNT(*) FROM hwtrial_homework_instance WHERE study_id = :sid AND state = 'submitted'), "
        "(SELECT COUNT(*) FROM hwtrial_homework_instance WHERE study_id = :sid AND state = 'expired')"),
        {"sid": study.id}).one())


def _day_sql(session: Session, column: str) -> str:
    if session.get_bind().dialect.name == "sqlite":
        return f"date({column})"
    return f"CAST(({column} AT TIME ZONE 'UTC') AS DATE)"


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _enrolment_rows(session: Session, study: Study) -> list[tuple[date, str | None, int]]:
    day = _day_sql(session, "p.enrolled_at")
    rows = session.execute(sa.text(
        f"SELECT {day} AS day, a.arm_key, COUNT(*) FROM hwtrial_participant p "
        "LEFT JOIN hwtrial_allocation a ON a.participant_id = p.id "
        f"WHERE p.study_id = :sid GROUP BY {day}, a.arm_key ORDER BY 1"), {"sid": study.id})
    return [(_as_date(d), arm, int(n)) for d, arm, n in rows]


def _strata_rows(session: Session, study: Study) -> list[tuple]:
    """Strata are JSON text with sorted keys, so identical combinations group together."""
    return [tuple(row) for row in session.execute(sa.text(
        "SELECT p.strata, a.arm_key, COUNT(*) FROM hwtrial_participant p "
        "LEFT JOIN hwtrial_allocation a ON a.participant_id = p.id "
        "WHERE p.study_id = :sid GROUP BY p.strata, a.arm_key"), {"sid": study.id})]


def _adherence_rows(session: Session, study: Study) -> list[tuple]:
    # The condition is textually the partial indexes' (SQLite matches partial-index terms literally).
    day = _day_sql(session, "i.due_at")
    return [tuple(row) for row in session.execute(sa.text(
        f"SELECT {day}, a.arm_key, COUNT(*), SUM(CASE WHEN i.state = 'submitted' THEN 1 ELSE 0 END) "
        "FROM hwtrial_homework_instance i JOIN hwtrial_allocation a ON a.participant_id = i.participant_id "
        f"WHERE i.study_id = :sid AND i.state IN ('submitted', 'expired') GROUP BY {day}, a.arm_key"),
        {"sid": study.id})]


def _weeks(rows: list[tuple]) -> list[tuple[date, str | None, int, int]]:
    weeks: dict[tuple[date, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for day_value, arm, closed, submitted in rows:
        start = _as_date(day_value)
        cell = weeks[(start - timedelta(days=start.weekday()), arm)]
        cell[0] += int(closed)
        cell[1] += int(submitted or 0)
    return [(week, arm, closed, submitted)
            for (week, arm), (closed, submitted) in sorted(weeks.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
