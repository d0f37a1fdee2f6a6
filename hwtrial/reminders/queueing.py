"""Turn each participant's reminder plan into outbox rows, and check a reminder still applies
when its time comes.

Planning runs every worker pass over a short horizon. A reminder's outbox key names the
participant, channel, slot and UTC send time, so planning again queues nothing twice, and a
re-plan (a new time zone, a rescheduled task) queues the new time and cancels the old row
instead of sending it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

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


def task_windows(session: Session, participant_ids: list[int], now: datetime,
                 opened_by: datetime | None = None) -> dict[int, list[TaskWindow]]:
    """The participants' tasks that have not expired at ``now`` (and, given ``opened_by``,
    that open by then: a reminder is only ever about an open task)."""
    query = (sa.select(HomeworkInstance.participant_id, HomeworkInstance.id, HomeworkInstance.open_at,
                       HomeworkInstance.due_at, HomeworkInstance.expire_at, HomeworkInstance.state,
                       HomeworkInstance.submitted_at)
             .where(HomeworkInstance.participant_id.in_(participant_ids), HomeworkInstance.expire_at > now))
    if opened_by is not None:
        query = query.where(HomeworkInstance.open_at <= opened_by)
    rows = session.execute(query)
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


@dataclass
class BatchFacts:
    """What :meth:`check` needs for a batch of reminders, loaded in a few queries: the
    participants (with allocations), their studies with parsed policies, and their tasks."""

    participants: dict[int, Participant]
    studies: dict[int, Study]
    #: Each study's current definition, parsed once for the batch.
    definitions: dict[int, dict[str, Any]]
    policies: dict[int, dict[str, dict[str, Any]]]
    webhook_urls: dict[int, str | None]
    windows: dict[int, list[TaskWindow]]

    @classmethod
    def load(cls, session: Session, messages: list[OutboxMessage], now: datetime) -> BatchFacts:
        pids = sorted({m.participant_id for m in messages
                       if m.participant_id is not None and m.payload.get("kind") == "reminder"})
        participants = {p.id: p for p in session.scalars(
            sa.select(Participant).where(Participant.id.in_(pids))
            .options(selectinload(Participant.allocation)))} if pids else {}
        sids = sorted({p.study_id for p in participants.values()})
        studies = {s.id: s for s in session.scalars(sa.select(Study).where(Study.id.in_(sids)))} if sids else {}
        # tasks that could still be open for any reminder of the batch (its send time - 1 min)
        sends = [datetime.fromisoformat(m.payload["send_at"]) for m in messages if m.participant_id in participants]
        earliest = min(sends, default=now) - timedelta(minutes=1)
        latest = max(sends + [now]) + timedelta(minutes=1)
        definitions = {sid: s.definition for sid, s in studies.items()}
        return cls(participants=participants, studies=studies, definitions=definitions,
                   policies={sid: reminder_policies(d) for sid, d in definitions.items()},
                   webhook_urls={sid: study_webhook_url(d) for sid, d in definitions.items()},
                   windows=task_windows(session, list(participants), min(earliest, now), latest) if pids else {})

    def check(self, message: OutboxMessage, now: datetime) -> Participant:
        """Raise :class:`ReminderCancelled` unless the reminder is still in the participant's plan."""
        participant = self.participants.get(message.participant_id)
        if participant is None or participant.status != "active":
            raise ReminderCancelled("the participant is no longer active")
        tasks = self.windows.get(participant.id, [])
        if "decision_id" in message.payload:  # micro-randomised: decided once, sent unless the task is done
            task = next((t for t in tasks if t.instance_id == message.payload["instance_id"]), None)
            if task is None or task.submitted or task.expire_at <= now:
                raise ReminderCancelled("the task was submitted or expired")
            if reminders_off_at(participant, now):
                raise ReminderCancelled(f"the participant {reminders_off_at(participant, now)} reminders")
            return participant
        study = self.studies[participant.study_id]
        policy = self.policies[study.id].get(participant.allocation.arm_key if participant.allocation else None)
        if study.status != "active" or policy is None:
            raise ReminderCancelled("the study or the participant's arm no longer sends reminders")
        send_at = datetime.fromisoformat(message.payload["send_at"])
        window = (send_at - timedelta(minutes=1), send_at + timedelta(minutes=1))
        open_then = [t for t in tasks if t.expire_at > window[0]]
        if message.dedupe_key not in participant_plan(policy, participant, open_then, *window,
                                                      self.webhook_urls[study.id]):
            raise ReminderCancelled("the task was submitted, expired or re-planned")
        return participant


def study_webhook_url(definition: Mapping[str, Any]) -> str | None:
    return ((definition.get("notifications") or {}).get("webhook") or {}).get("url")


def check_still_applies(session: Session, message: OutboxMessage, now: datetime) -> Participant:
    """Raise :class:`ReminderCancelled` unless the reminder is still in the participant's plan."""
    return BatchFacts.load(session, [message], now).check(message, now)
