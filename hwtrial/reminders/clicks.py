"""A participant opened a reminder's link: record the click and land them on its task.

The click is an engagement event (``reminder_clicked``, once per reminder: the event id is
derived from the outbox row) and, for a micro-randomised reminder, the decision point's
``clicked_at``. A reminder id that is not the signed-in participant's own is ignored.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import DecisionPoint, Event, OutboxMessage, Participant
from ..services.events import body_sha256


def record_click(session: Session, participant: Participant, outbox_id: int, now: datetime) -> int | None:
    """Record the click (idempotent); return the reminder's homework instance id, if any."""
    message = session.get(OutboxMessage, outbox_id) if 0 < outbox_id < 2**31 else None
    if message is None or message.participant_id != participant.id or message.payload.get("kind") != "reminder":
        return None
    payload = message.payload
    body = {"type": "reminder_clicked", "outbox_id": message.id, "decision_id": payload.get("decision_id")}
    row = {"study_id": participant.study_id, "participant_id": participant.id,
           "instance_id": payload.get("instance_id"), "client_event_id": f"reminder-click:{message.id}",
           "body_sha256": body_sha256(body), "type": "reminder_clicked", "client_time": now,
           "server_time": now, "payload": body}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(Event.__table__).on_conflict_do_nothing(
        index_elements=["study_id", "client_event_id"]), row)
    if payload.get("decision_id"):
        session.execute(sa.update(DecisionPoint).where(DecisionPoint.id == payload["decision_id"],
                                                       DecisionPoint.clicked_at.is_(None))
                        .values(clicked_at=now).execution_options(hwtrial_study_ids=[participant.study_id]))
    session.flush()
    return payload.get("instance_id")
