"""Use cases on a study's outbox for coordinators: list deliveries by state, requeue one.

Reminder rows reveal who is in a reminder arm, so only roles that see arms reach these
(the route policy allows coordination only).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import OutboxMessage, Study, utcnow
from ..services import audit
from . import dispatcher

#: The ``status`` filter: the stored states, and ``failed`` (pending again after an error).
STATUS_FILTERS = ("pending", "failed", "sending", "sent", "dead", "cancelled")


def list_outbox(session: Session, study: Study, *, status: str | None = None,
                limit: int = 100, offset: int = 0) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.study_id == study.id)
    if status == "failed":
        query = query.where(OutboxMessage.status == "pending", OutboxMessage.last_error.is_not(None))
    elif status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(session.scalars(query.order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
                                .limit(limit).offset(offset)))


def requeue(session: Session, principal: Principal, study: Study, message_id: int) -> OutboxMessage:
    """Send a dead or failing message again now, with a fresh attempt budget (audited)."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.study_id != study.id:
        raise ServiceError(404, "no such message in this study")
    if message.status in ("sent", "sending"):
        raise ServiceError(409, f"the message is {message.status}; only unsent messages are requeued")
    before = {"status": message.status, "attempts": message.attempts}
    dispatcher.requeue(session, message, utcnow())
    audit.record(session, actor=principal.actor, action="outbox.requeue", target=f"outbox:{message.id}",
                 study_key=study.key, before=before)
    return message
