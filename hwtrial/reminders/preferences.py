"""A participant pauses, stops or resumes their reminders from their pages.

This changes what the trial delivers (and, in a micro-randomised trial, availability), so
each change is audited and stored as an engagement event, and pending reminders are
cancelled by the next planning pass (or at send time).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import Event, Participant
from ..services import audit
from ..services.events import body_sha256
from ..services.participant_guard import require_writable

PAUSE = timedelta(days=3)
ACTIONS = ("pause", "stop", "resume")


def reminders_offered(definition: Mapping[str, Any], arm_key: str | None) -> bool:
    """Whether the participant's arm sends reminders (only then is the choice shown)."""
    arm = next((a for a in definition.get("arms") or [] if a["key"] == arm_key), None)
    return arm is not None and arm.get("features", {}).get("reminders", {}).get("policy", "none") != "none"


def reminders_off_at(participant: Participant, at: datetime) -> str | None:
    """Why reminders are off for the participant at ``at`` (``stopped``, ``paused``), or None."""
    if participant.reminders_stopped_at is not None and participant.reminders_stopped_at <= at:
        return "stopped"
    if participant.reminders_paused_until is not None and at < participant.reminders_paused_until:
        return "paused"
    return None


def set_reminder_choice(session: Session, participant: Participant, definition: Mapping[str, Any],
                        arm_key: str | None, action: str, now: datetime) -> Participant:
    require_writable(session, participant, definition)
    if action not in ACTIONS:
        raise ServiceError(422, f"unknown action {action!r}", {"action": [f"one of {', '.join(ACTIONS)}"]})
    if not reminders_offered(definition, arm_key):
        raise ServiceError(404, "there are no reminders to change")
    before = {"paused_until": _iso(participant.reminders_paused_until),
              "stopped_at": _iso(participant.reminders_stopped_at)}
    if action == "pause":
        participant.reminders_paused_until = now + PAUSE
    elif action == "stop":
        participant.reminders_stopped_at = now
    else:
        participant.reminders_paused_until = participant.reminders_stopped_at = None
    body = {"type": f"reminders_{action}", "at": now.isoformat()}
    session.add(Event(study_id=participant.study_id, participant_id=participant.id, type=body["type"],
                      client_event_id=f"reminders-{action}:{participant.id}:{int(now.timestamp() * 1000)}",
                      body_sha256=body_sha256(body), client_time=now, server_time=now, payload=body))
    audit.record(session, actor=f"participant:{participant.id}", action=f"reminders.{action}",
                 target=f"participant:{participant.id}", before=before)
    session.flush()
    return participant


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
