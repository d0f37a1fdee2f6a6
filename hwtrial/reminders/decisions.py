"""Micro-randomised reminders: decide each decision point when its time comes, log it, and
queue the reminder of a treated point.

Availability is judged at the decision point (quiet hours, today's task done, the daily
maximum, no open task); an unavailable participant is not randomised (no draw). The draw of
point ``i`` of participant ``p`` comes from ``micro_rng(study seed, str(p), i)``, so every
decision can be replayed from the stored seed. A point whose time passed while no worker ran
(more than ``GRACE`` ago) is logged unavailable as ``missed``, never decided late. The UNIQUE
(participant, point) key makes two workers deciding the same point harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import Allocation, ConsentRecord, DecisionPoint, Participant, Study
from ..randomisation.micro import decide, probability_at
from ..randomisation.seeds import micro_rng
from ..scheduling import zone
from .planning import DecisionTime, availability, decision_times
from .preferences import reminders_off_at
from .queueing import insert_new, task_windows

GRACE = timedelta(minutes=15)
#: How far back a pass looks for undecided points (a longer outage logs them as missed).
LOOKBACK = timedelta(days=2)


def micro_policies(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {arm["key"]: arm["features"]["reminders"] for arm in definition["arms"]
            if arm.get("features", {}).get("reminders", {}).get("policy") == "micro_randomised"}


def make_due_decisions(session: Session, now: datetime) -> dict[str, int]:
    """Decide every due, undecided point of every active micro-randomised study (flushes)."""
    counts = {"decided": 0, "treated": 0}
    for study in session.scalars(sa.select(Study).where(Study.status == "active")):
        policies = micro_policies(study.definition)
        if policies:
            _decide_study(session, study, policies, now, counts)
    return counts


def _decide_study(session, study, policies, now, counts) -> None:
    participants = list(session.scalars(
        sa.select(Participant).join(Allocation, Allocation.participant_id == Participant.id)
        .where(Participant.study_id == study.id, Participant.status == "active",
               Allocation.arm_key.in_(policies),
               sa.exists().where(ConsentRecord.participant_id == Participant.id))))
    if not participants:
        return
    ids = [p.id for p in participants]
    since = now - LOOKBACK
    done = session.execute(sa.select(DecisionPoint.participant_id, DecisionPoint.point_index,
                                     DecisionPoint.study_day, DecisionPoint.treated)
                           .where(DecisionPoint.participant_id.in_(ids), DecisionPoint.decided_at >= since)).all()
    decided = {(pid, index) for pid, index, _, _ in done}
    treated_per_day: dict[tuple[int, int], int] = {}
    for pid, _, day, treated in done:
        if treated:
            treated_per_day[(pid, day)] = treated_per_day.get((pid, day), 0) + 1
    windows = task_windows(session, ids, since)
    webhook_url = ((study.definition.get("notifications") or {}).get("webhook") or {}).get("url")
    for participant in participants:
        policy = policies[participant.allocation.arm_key]
        for point in decision_times(policy, participant.timezone, participant.enrolled_at, since,
                                    now + timedelta(seconds=1)):
            if (participant.id, point.index) in decided:
                continue
            treated = _decide_point(session, study, participant, policy, point, now,
                                    windows.get(participant.id, []), treated_per_day, webhook_url)
            counts["decided"] += 1
            counts["treated"] += int(bool(treated))


def _decide_point(session, study, participant, policy, point: DecisionTime, now, tasks,
                  treated_per_day, webhook_url) -> bool | None:
    zi = zone(participant.timezone)
    today = point.at.astimezone(zi).date()
    submitted_today = any(t.submitted_at is not None and t.submitted_at <= point.at
                          and t.submitted_at.astimezone(zi).date() == today for t in tasks)
    reason = "missed" if point.at < now - GRACE else reminders_off_at(participant, point.at) or availability(
        policy, point, participant.timezone, tasks, submitted_today,
        treated_per_day.get((participant.id, point.day), 0))
    decision = decide(probability_at(policy["probability"], point.day), reason is None,
                      rng=micro_rng(int(study.allocation_seed), str(participant.id), point.index))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    decision_id = session.execute(
        dialect.insert(DecisionPoint.__table__).on_conflict_do_nothing(
            index_elements=["participant_id", "point_index"]).returning(DecisionPoint.id),
        {"study_id": study.id, "participant_id": participant.id, "point_index": point.index,
         "decided_at": point.at, "available": decision.available, "probability": decision.probability,
         "treated": decision.treated, "local_time": point.local_time, "study_day": point.day,
         "unavailable_reason": reason}).scalar()
    if decision_id is None or not decision.treated:  # another worker decided it, or no reminder
        return None if decision_id is None else decision.treated
    treated_per_day[(participant.id, point.day)] = treated_per_day.get((participant.id, point.day), 0) + 1
    task = next(t for t in tasks if not t.submitted and t.open_at <= point.at < t.expire_at)
    rows = []
    for channel in policy.get("channels") or ["email"]:
        if (channel == "email" and not participant.email) or (channel == "webhook" and not webhook_url):
            continue
        rows.append({"dedupe_key": f"mrt:{participant.id}:{point.index}:{channel}", "channel": channel,
                     "due_at": point.at, "study_id": study.id, "participant_id": participant.id,
                     "payload": {"kind": "reminder", "slot": f"mrt:{point.index}", "instance_id": task.instance_id,
                                 "local_time": point.local_time, "send_at": point.at.isoformat(),
                                 "decision_id": decision_id}})
    insert_new(session, rows)
    return True
