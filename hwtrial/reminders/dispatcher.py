"""The outbox dispatcher: claim, commit, send, record — each message at most once per lease.

What "exactly once" means here: a message is claimed in a short committed transaction (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so two workers never claim the same row; SQLite
serialises writers with ``BEGIN IMMEDIATE``), then sent, then recorded. A worker that dies
after sending but before recording leaves the row claimed; once its lease has run out another
worker sends it again *with the same idempotency key* (the SMTP ``Message-ID`` is derived from
the outbox key), so a receiver that keeps Message-IDs drops the repeat. Nothing queued is lost:
every row ends ``sent`` or ``dead`` (after ``RetryPolicy.max_attempts``, with the last error).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import OutboxMessage


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt ``n`` failing waits ``base * 2**(n-1)``, at most ``cap``."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def delay(self, attempts: int) -> timedelta:
        return min(self.cap, self.base * (2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class DispatchReport:
    """What one dispatcher run did."""

    #: Messages claimed by this run.
    claimed: int = 0
    #: Sent and recorded.
    sent: int = 0
    #: Failed and put back with a later ``due_at``.
    retried: int = 0
    #: Failed for the last allowed time; kept as ``dead`` with the error.
    dead: int = 0
    #: No longer applied when their time came (a reminder for a submitted task, say).
    cancelled: int = 0


class Cancelled(Exception):
    """Raised by a sender when the message no longer applies (recorded as ``cancelled``)."""


#: ``send(message)`` delivers one outbox row or raises; the exception text is recorded.
Sender = Callable[[OutboxMessage], None]


def due_condition(now: datetime):
    """Pending rows whose time has come, and claimed rows whose worker's lease ran out."""
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.lease_until <= now),
    )


def claim_due(session: Session, now: datetime, *, limit: int, lease: timedelta) -> tuple[list[int], str]:
    """Claim up to ``limit`` due messages for ``lease`` and commit the claim.

    Returns the ids and this claim's token: a row reclaimed by another worker after the lease
    carries that worker's token, and the first worker then leaves it alone.
    """
    token = uuid.uuid4().hex
    ids = list(session.scalars(
        sa.select(OutboxMessage.id).where(due_condition(now))
        .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)))
    if ids:
        session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status="sending", lease_until=now + lease, claim_token=token,
                    attempts=OutboxMessage.attempts + 1),
            execution_options={"synchronize_session": False})
    session.commit()
    return ids, token


def _renew(session: Session, ids: list[int], token: str, until: datetime) -> set[int]:
    """Extend this claim's lease on ``ids``; the ids still held (others were lost to another
    worker after the lease ran out)."""
    held = set(session.scalars(
        sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
                                       OutboxMessage.claim_token == token)
        .values(lease_until=until).returning(OutboxMessage.id), execution_options={"synchronize_session": False}))
    session.commit()
    return held


def dispatch_due(session: Session, now: datetime, send: Sender, *, limit: int = 100,
                 lease: timedelta = timedelta(minutes=5),
                 retry: RetryPolicy = RetryPolicy()) -> DispatchReport:
    """Send every message due at ``now`` (up to ``limit``); commit after each outcome.

    A failing message never blocks the others: it is retried later or dead-lettered, and the
    run goes on with the next one. Once half the lease has passed, the rest of the batch is
    renewed in one statement; a row another worker took meanwhile (its token differs) is
    skipped, so a slow batch loses its unsent rows to that worker instead of both sending them.
    """
    started = renewed = time.monotonic()
    ids, token = claim_due(session, now, limit=limit, lease=lease)
    held = set(ids)
    counts = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}
    for position, message_id in enumerate(ids):
        if time.monotonic() - renewed > lease.total_seconds() / 2:  # renew the rest in time
            renewed = time.monotonic()
            held = _renew(session, ids[position:], token, now + timedelta(seconds=renewed - started) + lease)
        if message_id not in held:
            continue  # the lease ran out and another worker has it now
        message = session.get(OutboxMessage, message_id, populate_existing=True)
        try:
            send(message)
        except Cancelled as reason:
            message.status, message.lease_until, message.last_error = "cancelled", None, str(reason)
            outcome = "cancelled"
        except Exception as error:  # any failure of a channel is recorded, never raised
            outcome = _record_failure(message, error, now, retry)
        else:
            message.status, message.sent_at, message.lease_until = "sent", now, None
            message.last_error = None
            outcome = "sent"
        session.commit()
        counts[outcome] += 1
    return DispatchReport(claimed=len(ids), **counts)


def _record_failure(message: OutboxMessage, error: Exception, now: datetime,
                    retry: RetryPolicy) -> str:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    message.lease_until = None
    if message.attempts >= retry.max_attempts:
        message.status = "dead"
        return "dead"
    message.status, message.due_at = "pending", now + retry.delay(message.attempts)
    return "retried"


def requeue(session: Session, message: OutboxMessage, now: datetime) -> OutboxMessage:
    """Put a dead (or failing) message back as due now with a fresh attempt budget."""
    if message.status == "sent":
        raise ValueError("a sent message is not requeued")
    message.status, message.due_at, message.attempts, message.lease_until = "pending", now, 0, None
    session.flush()
    return message
