"""Turn each participant's reminder plan into outbox rows, and check a reminder still applies
when its time comes.

Planning runs every worker pass over a short horizon. A reminder's outbox key names the
participant, channel, slot and UTC send time, so planning again queues nothing twice, and a
re-plan (a new time zone, a rescheduled task) queues the new time and cancels the old row
instead of sending it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import Allocation, ConsentRecord, HomeworkInstance, OutboxMessage, Participant, Study
from .dispatcher import Cancelled
from .planning import PlannedReminder, TaskWindow, plan_reminders
from .preferences import reminders_off_at

#: How far ahead each pass plans (longer than any worker outage we want to ride out).
HORIZON = timedelta(hours=36)
FINAL_STATES = ("submitted", "expired")


class ReminderCancelled(Cancelled):
    """The reminder no longer applies; the dispatcher records it as ``cancelled``."""


def reminder_key(participant_id: int, channel: str, reminder: PlannedReminder) -> str:
    return f"reminder:{participant_id}:{channel}:{reminder.slot}@{reminder.send_at:%Y%m%dT%H%MZ}"


def reminder_policies(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{arm key: reminders feature}`` of the arms whose reminders hwtrial plans."""
    return {arm["key"]: arm["features"]["reminders"] for arm in definition["arms"]
            if arm.get("features", {}).get("reminders", {}).get("policy") == "fixed"}


def task_windows(session: Session, participant_ids: list[int], now: datetime) -> dict[int, list[TaskWindow]]:
    rows = session.execute(
        sa.select(HomeworkInstance.participant_id, HomeworkInstance.id, HomeworkInstance.open_at,
                  HomeworkInstance.due_at, HomeworkInstance.expire_at, HomeworkInstance.state,
                  HomeworkInstance.submitted_at)
        .where(HomeworkInstance.participant_id.in_(participant_ids), HomeworkInstance.expire_at > now))
    windows: dict[int, list[TaskWindow]] = {}
    for pid, iid, open_at, due_at, expire_at, state, submitted_at in rows:
        windows.setdefault(pid, []).append(
            TaskWindow(iid, open_at, due_at, expire_at, state in FINAL_STATES, submitted_at))
    return windows


def participant_plan(policy: Mapping[str, Any], participant: Participant, tasks: list[TaskWindow],
                     start: datetime, end: datetime, webhook_url: str | None) -> dict[str, dict]:
    """``{outbox key: row}`` of a participant's reminders in ``[start, end)``."""
    rows = {}
    for reminder in plan_reminders(policy, tasks, participant.timezone, start, end):
        if reminders_off_at(participant, reminder.send_at):
            continue
        for channel in policy.get("channels") or ["email"]:
            if (channel == "email" and not participant.email) or (channel == "webhook" and not webhook_url):
                continue
            key = reminder_key(participant.id, channel, reminder)
            rows[key] = {"dedupe_key": key, "channel": channel, "due_at": reminder.send_at,
                         "study_id": participant.study_id, "participant_id": participant.id,
                         "payload": {"kind": "reminder", "slot": reminder.slot,
                                     "instance_id": reminder.instance_id, "local_time": reminder.local_time,
                                     "send_at": reminder.send_at.isoformat()}}
    return rows


def queue_reminders(session: Session, now: datetime, *, horizon: timedelta = HORIZON) -> dict[str, int]:
    """Plan every consented, active participant of every active study; queue what is new and
    cancel pending reminders that are no longer in the plan. Flushes, never commits."""
    queued = cancelled = 0
    for study in session.scalars(sa.select(Study).where(Study.status == "active")):
        definition = study.definition
        policies = reminder_policies(definition)
        if not policies:
            continue
        webhook_url = ((definition.get("notifications") or {}).get("webhook") or {}).get("url")
        participants = list(session.scalars(
            sa.select(Participant).join(Allocation, Allocation.participant_id == Participant.id)
            .where(Participant.study_id == study.id, Participant.status == "active",
                   Allocation.arm_key.in_(policies),
                   sa.exists().where(ConsentRecord.participant_id == Participant.id))))
        windows = task_windows(session, [p.id for p in participants], now)
        for participant in participants:
            plan = participant_plan(policies[participant.allocation.arm_key], participant,
                                    windows.get(participant.id, []), now, now + horizon, webhook_url)
            queued += insert_new(session, list(plan.values()))
            cancelled += cancel_stale(session, participant.id, set(plan), now, now + horizon)
    return {"queued": queued, "cancelled": cancelled}


def insert_new(session: Session, rows: list[dict]) -> int:
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = OutboxMessage.__table__
    values = [{**row, "status": "pending", "attempts": 0, "created_at": row["due_at"]} for row in rows]
    result = session.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]),
                             values)
    return max(result.rowcount, 0)


def cancel_stale(session: Session, participant_id: int, keep: set[str], start: datetime,
                 end: datetime) -> int:
    """Pending reminders of the participant, due in the horizon, that the plan no longer has."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.participant_id == participant_id, OutboxMessage.status == "pending",
               OutboxMessage.dedupe_key.like("reminder:%"), OutboxMessage.due_at >= start,
               OutboxMessage.due_at < end, OutboxMessage.dedupe_key.not_in(keep or {""}))
        .values(status="cancelled", last_error="no longer in the participant's plan"),
        execution_options={"synchronize_session": False})
    return result.rowcount


def check_still_applies(session: Session, message: OutboxMessage, now: datetime) -> Participant:
    """Raise :class:`ReminderCancelled` unless the reminder is still in the participant's plan."""
    participant = session.get(Participant, message.participant_id)
    if participant is None or participant.status != "active":
        raise ReminderCancelled("the participant is no longer active")
    if "decision_id" in message.payload:  # micro-randomised: decided once, sent unless the task is done
        task = session.get(HomeworkInstance, message.payload["instance_id"])
        if task is None or task.state in FINAL_STATES or task.expire_at <= now:
            raise ReminderCancelled("the task was submitted or expired")
        if reminders_off_at(participant, now):
            raise ReminderCancelled(f"the participant {reminders_off_at(participant, now)} reminders")
        return participant
    study = session.get(Study, participant.study_id)
    policy = reminder_policies(study.definition).get(
        participant.allocation.arm_key if participant.allocation else None)
    if study.status != "active" or policy is None:
        raise ReminderCancelled("the study or the participant's arm no longer sends reminders")
    webhook_url = ((study.definition.get("notifications") or {}).get("webhook") or {}).get("url")
    send_at = datetime.fromisoformat(message.payload["send_at"])
    window = (send_at - timedelta(minutes=1), send_at + timedelta(minutes=1))
    tasks = task_windows(session, [participant.id], window[0]).get(participant.id, [])
    if message.dedupe_key not in participant_plan(policy, participant, tasks, *window, webhook_url):
        raise ReminderCancelled("the task was submitted, expired or re-planned")
    return participant
