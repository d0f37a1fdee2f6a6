"""The staff study page: design, enrolment, balance, adherence, safety alerts, deliveries.

Each part is one grouped aggregate in SQL (a few hundred rows at most come back, whatever
the study's size). Arms are shown as the caller may see them (key or blinded code); the
parts that reveal arms beyond codes (reminder deliveries) or name participants at risk
(safety alerts) are read for coordination roles only, as the API allows.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..models import OutboxMessage, Participant, SafetyAlert, Study
from ..reminders import outbox
from .blinding import can_see_arms, definition_for
from .questionnaires import list_alerts
from .study_design import DesignSummary, design_summary

COORDINATION = frozenset({"admin", "coordinator"})
ANALYSIS = frozenset({"admin", "coordinator", "statistician"})
#: Arm name used for participants without an allocation (or when arms are not shown).
UNALLOCATED = "not allocated"
ALL = "all"
#: Failed and dead deliveries listed by name on the page (the API lists the rest).
PROBLEM_LIMIT = 20


@dataclass(frozen=True)
class DeliveryHealth:
    #: Messages per state, with ``failed`` (pending again after an error) counted apart.
    counts: dict[str, int]
    #: Dead and failing messages, newest first (at most :data:`PROBLEM_LIMIT` of each).
    dead: list[OutboxMessage]
    failing: list[OutboxMessage]


@dataclass(frozen=True)
class StudyDashboard:
    study: Study
    design: DesignSummary
    #: Participants per status (active, withdrawn, ...); ``total`` of them all.
    status_counts: dict[str, int]
    total: int
    #: Arm names in definition order, as the caller may see them.
    arms: tuple[str, ...]
    #: Cumulative enrolment per day, per arm (or one series ``all`` for callers without arms).
    enrolment: dict[str, list[tuple[date, int]]]
    #: Participants per arm; per stratification factor level and arm. None: not for this caller.
    balance: dict[str, int] | None
    strata_balance: list[tuple[str, str, dict[str, int]]] | None
    #: Share of closed homework submitted, per week of the due date, per arm.
    adherence: dict[str, list[tuple[date, float]]] | None
    alerts: list[SafetyAlert] | None
    deliveries: DeliveryHealth | None


def study_dashboard(session: Session, principal: Principal, study: Study) -> StudyDashboard:
    sees_arms = can_see_arms(principal, study)
    arm_defs = study.definition.get("arms") or []
    name_of = {a["key"]: (a["key"] if sees_arms else a["code"]) for a in arm_defs}
    analysis = principal.role in ANALYSIS
    coordination = principal.role in COORDINATION
    status_counts = dict(session.execute(
        sa.select(Participant.status, sa.func.count()).where(Participant.study_id == study.id)
        .group_by(Participant.status)).all())
    people = _people_fingerprint(session, study)
    by_arm_day = _cached((*_identity(session, study), "enrolment", people), lambda: _enrolment_rows(session, study))
    return StudyDashboard(
        study=study,
        design=design_summary(definition_for(principal, study), blinded=not sees_arms),
        status_counts=status_counts, total=sum(status_counts.values()),
        arms=tuple(name_of[a["key"]] for a in arm_defs),
        enrolment=_cumulative(by_arm_day, name_of if analysis else None),
        balance=_balance(by_arm_day, name_of) if analysis else None,
        strata_balance=_strata_balance(session, study, name_of, people) if analysis else None,
        adherence=_adherence(session, study, name_of, people) if analysis else None,
        alerts=list_alerts(session, study, open_only=True) if coordination else None,
        deliveries=delivery_health(session, study) if coordination else None,
    )


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
    return [(_as_date(d), arm, n) for d, arm, n in rows]


def _cumulative(rows, name_of: dict[str, str] | None) -> dict[str, list[tuple[date, int]]]:
    series: dict[str, list[tuple[date, int]]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for day, arm, n in rows:
        name = ALL if name_of is None else name_of.get(arm, UNALLOCATED)
        totals[name] += n
        points = series[name]
        if points and points[-1][0] == day:
            points[-1] = (day, totals[name])
        else:
            points.append((day, totals[name]))
    return dict(series)


def _balance(rows, name_of: dict[str, str]) -> dict[str, int]:
    counts = {name: 0 for name in name_of.values()}
    for _day, arm, n in rows:
        name = name_of.get(arm, UNALLOCATED)
        counts[name] = counts.get(name, 0) + n
    return counts


def _strata_rows(session: Session, study: Study) -> list[tuple]:
    return [tuple(row) for row in session.execute(sa.text(
        "SELECT p.strata, a.arm_key, COUNT(*) FROM hwtrial_participant p "
        "LEFT JOIN hwtrial_allocation a ON a.participant_id = p.id "
        "WHERE p.study_id = :sid GROUP BY p.strata, a.arm_key"), {"sid": study.id})]


def _strata_balance(session: Session, study: Study, name_of: dict[str, str], people: tuple):
    """Per stratification factor and level: participants per arm (strata are JSON text with
    sorted keys, so identical combinations group together in SQL)."""
    factors = [s["key"] for s in study.definition.get("stratification") or []]
    if not factors:
        return []
    rows = _cached((*_identity(session, study), "strata", people), lambda: _strata_rows(session, study))
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for factor in study.definition.get("stratification") or []:
        for level in factor.get("levels", []):
            cells[(factor["key"], str(level))] = {name: 0 for name in name_of.values()}
    for strata, arm, n in rows:
        values = json.loads(strata) if strata else {}
        for factor in factors:
            key = (factor, str(values.get(factor, "(missing)")))
            cell = cells.setdefault(key, {name: 0 for name in name_of.values()})
            name = name_of.get(arm, UNALLOCATED)
            cell[name] = cell.get(name, 0) + n
    return [(factor, level, counts) for (factor, level), counts in cells.items()]


def _adherence_rows(session: Session, study: Study) -> list[tuple]:
    # The condition is textually the partial indexes' (SQLite matches partial-index terms literally).
    day = _day_sql(session, "i.due_at")
    return [tuple(row) for row in session.execute(sa.text(
        f"SELECT {day}, a.arm_key, COUNT(*), SUM(CASE WHEN i.state = 'submitted' THEN 1 ELSE 0 END) "
        "FROM hwtrial_homework_instance i JOIN hwtrial_allocation a ON a.participant_id = i.participant_id "
        f"WHERE i.study_id = :sid AND i.state IN ('submitted', 'expired') GROUP BY {day}, a.arm_key"),
        {"sid": study.id})]


def _adherence(session: Session, study: Study, name_of: dict[str, str], people: tuple):
    key = (*_identity(session, study), "adherence", people, _homework_fingerprint(session, study))
    rows = _cached(key, lambda: _adherence_rows(session, study))
    weeks: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for day_value, arm, closed, submitted in rows:
        start = _as_date(day_value)
        start -= timedelta(days=start.weekday())
        cell = weeks[name_of.get(arm, UNALLOCATED)][start]
        cell[0] += closed
        cell[1] += int(submitted or 0)
    return {name: [(w, s / c) for w, (c, s) in sorted(by_week.items()) if c]
            for name, by_week in sorted(weeks.items())}


def delivery_health(session: Session, study: Study) -> DeliveryHealth:
    counts = {state: 0 for state in ("pending", "failed", "sending", "sent", "dead", "cancelled")}
    rows = session.execute(
        sa.select(OutboxMessage.status, OutboxMessage.last_error.is_not(None), sa.func.count())
        .where(OutboxMessage.study_id == study.id)
        .group_by(OutboxMessage.status, OutboxMessage.last_error.is_not(None)))
    for status, has_error, n in rows:
        key = "failed" if status == "pending" and has_error else status
        counts[key] = counts.get(key, 0) + n
    dead = outbox.list_outbox(session, study, status="dead", limit=PROBLEM_LIMIT) if counts["dead"] else []
    failing = (outbox.list_outbox(session, study, status="failed", limit=PROBLEM_LIMIT)
               if counts["failed"] else [])
    return DeliveryHealth(counts=counts, dead=dead, failing=failing)
