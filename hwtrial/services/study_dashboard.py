"""The staff study page: design, enrolment, balance, adherence, safety alerts, deliveries.

Each part is one grouped aggregate in SQL (a few hundred rows at most come back, whatever
the study's size); enrolment, balance and adherence come from :func:`.arm_series.arm_series`,
which feeds the trial report too. Arms are shown as the caller may see them (key or blinded code); the
parts that reveal arms beyond codes (reminder deliveries) or name participants at risk
(safety alerts) are read for coordination roles only, as the API allows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..models import OutboxMessage, Participant, SafetyAlert, Study
from ..reminders import outbox
from .arm_series import PARTS, ArmSeries, arm_series
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
    # the per-arm series of the report too (one service, one set of queries)
    series = arm_series(session, study, PARTS if analysis else ("enrolment",))
    return StudyDashboard(
        study=study,
        design=design_summary(definition_for(principal, study), blinded=not sees_arms),
        status_counts=status_counts, total=sum(status_counts.values()),
        arms=tuple(name_of[a["key"]] for a in arm_defs),
        enrolment=_cumulative(series.enrolment, name_of if analysis else None),
        balance=_balance(series.enrolment, name_of) if analysis else None,
        strata_balance=_strata_balance(study, series, name_of) if analysis else None,
        adherence=_adherence(series, name_of) if analysis else None,
        alerts=list_alerts(session, study, open_only=True) if coordination else None,
        deliveries=delivery_health(session, study) if coordination else None,
    )


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


def _strata_balance(study: Study, series: ArmSeries, name_of: dict[str, str]):
    """Per stratification factor and level: participants per arm."""
    factors = [s["key"] for s in study.definition.get("stratification") or []]
    if not factors:
        return []
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for factor in study.definition.get("stratification") or []:
        for level in factor.get("levels", []):
            cells[(factor["key"], str(level))] = {name: 0 for name in name_of.values()}
    for values, arm, n in series.strata:
        for factor in factors:
            key = (factor, str(values.get(factor, "(missing)")))
            cell = cells.setdefault(key, {name: 0 for name in name_of.values()})
            name = name_of.get(arm, UNALLOCATED)
            cell[name] = cell.get(name, 0) + n
    return [(factor, level, counts) for (factor, level), counts in cells.items()]


def _adherence(series: ArmSeries, name_of: dict[str, str]):
    """Share of closed homework submitted per week and arm (weeks without closed work left out)."""
    weeks: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for week, arm, closed, submitted in series.adherence:
        cell = weeks[name_of.get(arm, UNALLOCATED)][week]
        cell[0] += closed
        cell[1] += submitted
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
