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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import DecisionPoint, OutboxMessage


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


#: ``send(message)`` delivers one outbox row (returning a :class:`Receipt`, or None: delivered
#: at ``now``) or raises; the exception text is recorded. A sender may also have
#: ``prepare(messages, now)``, called once per batch before the first send.
Sender = Callable[[OutboxMessage], "Receipt | None"]


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


@dataclass(frozen=True)
class Receipt:
    """When a channel took a message: ``sent_at`` handed over, ``delivered_at`` acknowledged
    (the SMTP server accepted it, the webhook receiver answered 2xx)."""

    sent_at: datetime
    delivered_at: datetime


@dataclass
class _Outcome:
    message: OutboxMessage
    status: str
    error: str | None = None
    receipt: Receipt | None = None
    due_at: datetime | None = None


def dispatch_due(session: Session, now: datetime, send: Sender, *, limit: int = 100,
                 lease: timedelta = timedelta(minutes=5), retry: RetryPolicy = RetryPolicy(),
                 record_every: float = 0.05, stop: Callable[[], bool] | None = None) -> DispatchReport:
    """Send every message due at ``now`` (up to ``limit``) and record the outcomes.

    The batch is claimed and committed, loaded in one query (and ``send.prepare(messages,
    now)``, when the sender has it, loads what it needs for the whole batch), then sent.
    Outcomes are recorded in one transaction per group: whatever was sent in the last
    ``record_every`` seconds (and the rest at the end), so a fast batch costs a few commits
    while a worker killed mid-batch leaves at most ``record_every`` seconds of sent but
    unrecorded messages, which go out again after the lease with the same idempotency key.

    A failing message never blocks the others: it is retried later or dead-lettered, and the
    run goes on with the next one. Once half the lease has passed, the rest of the batch is
    renewed in one statement; a row another worker took meanwhile (its token differs) is
    skipped, and recording never touches a row whose token is no longer this claim's.
    When ``stop()`` turns true (a worker asked to stop), the unsent rest is handed back.
    """
    ids, token = claim_due(session, now, limit=limit, lease=lease)
    if not ids:
        return DispatchReport()
    with _kept_after_commit(session):  # the batch's rows are read, never written, by the ORM
        return _dispatch_claimed(session, ids, token, now, send, lease, retry, record_every, stop)


@contextmanager
def _kept_after_commit(session: Session):
    """Outcome commits would expire every loaded object and reload each on its next read, a
    query per attribute per message; the batch only reads them."""
    target = session.registry() if hasattr(session, "registry") else session
    before, target.expire_on_commit = target.expire_on_commit, False
    try:
        yield
    finally:
        target.expire_on_commit = before


def _dispatch_claimed(session, ids, token, now, send, lease, retry, record_every, stop) -> DispatchReport:
    started = renewed = recorded = time.monotonic()
    by_id = {m.id: m for m in session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).execution_options(populate_existing=True))}
    messages = [by_id[i] for i in ids if i in by_id]
    if hasattr(send, "prepare"):
        send.prepare(messages, now)
    held, pending = set(ids), []
    counts = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}
    for position, message in enumerate(messages):
        if time.monotonic() - renewed > lease.total_seconds() / 2:  # renew the rest in time
            _record(session, pending, token)
            renewed = recorded = time.monotonic()
            held = _renew(session, [m.id for m in messages[position:]], token,
                          now + timedelta(seconds=renewed - started) + lease)
        if message.id not in held:
            continue  # the lease ran out and another worker has it now
        if stop is not None and stop():
            _record(session, pending, token)
            _release(session, [m.id for m in messages[position:]], token)
            break
        outcome = _attempt(message, send, now, retry)
        counts[outcome.status if outcome.status != "pending" else "retried"] += 1
        pending.append(outcome)
        if time.monotonic() - recorded >= record_every:
            _record(session, pending, token)
            recorded = time.monotonic()
    _record(session, pending, token)
    return DispatchReport(claimed=len(ids), **counts)


def _release(session: Session, ids: list[int], token: str) -> None:
    """Hand claimed, unsent rows back as they were (pending, this attempt not counted)."""
    session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
                                       OutboxMessage.claim_token == token)
        .values(status="pending", lease_until=None, attempts=OutboxMessage.attempts - 1),
        execution_options={"synchronize_session": False})
    session.commit()


def _attempt(message: OutboxMessage, send: Sender, now: datetime, retry: RetryPolicy) -> _Outcome:
    try:
        receipt = send(message)
    except Cancelled as reason:
        return _Outcome(message, "cancelled", str(reason))
    except Exception as error:  # any failure of a channel is recorded, never raised
        error_text = f"{type(error).__name__}: {error}"[:2000]
        if message.attempts >= retry.max_attempts:
            return _Outcome(message, "dead", error_text)
        return _Outcome(message, "pending", error_text, due_at=now + retry.delay(message.attempts))
    return _Outcome(message, "sent", receipt=receipt if isinstance(receipt, Receipt) else Receipt(now, now))


def _record(session: Session, outcomes: list[_Outcome], token: str) -> None:
    """Write the outcomes in one transaction (an UPDATE per row, sent as one batch), on rows
    this claim still holds; sent micro-randomised reminders log their times on the decision."""
    if not outcomes:
        return
    values = [(o.message.id, o.status, o.error, o.receipt.sent_at if o.receipt else None,
               o.receipt.delivered_at if o.receipt else None, o.due_at or o.message.due_at) for o in outcomes]
    if session.get_bind().dialect.name == "postgresql":
        _record_from_values(session, values, token)
    else:  # SQLite: no column list on a VALUES alias; row by row in one transaction is cheap there
        table = OutboxMessage.__table__
        names = ("b_id", "b_status", "b_error", "b_sent", "b_delivered", "b_due")
        session.execute(
            table.update().where(table.c.id == sa.bindparam("b_id"), table.c.status == "sending",
                                 table.c.claim_token == token)
            .values(status=sa.bindparam("b_status"), last_error=sa.bindparam("b_error"), lease_until=None,
                    sent_at=sa.func.coalesce(sa.bindparam("b_sent", type_=table.c.sent_at.type), table.c.sent_at),
                    delivered_at=sa.bindparam("b_delivered", type_=table.c.delivered_at.type),
                    due_at=sa.bindparam("b_due", type_=table.c.due_at.type)),
            [dict(zip(names, row, strict=True)) for row in values])
    if session.get_bind().dialect.name == "postgresql":
        # Outcomes need not wait for the WAL flush: if PostgreSQL itself crashes, the last
        # few become "sending" again and go out once more with the same idempotency key.
        session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    decisions = [{"b_id": o.message.payload["decision_id"], "b_sent": o.receipt.sent_at,
                  "b_delivered": o.receipt.delivered_at}
                 for o in outcomes if o.receipt is not None and o.message.payload.get("decision_id")]
    if decisions:
        points = DecisionPoint.__table__
        session.execute(points.update().where(points.c.id == sa.bindparam("b_id"), points.c.sent_at.is_(None))
                        .values(sent_at=sa.bindparam("b_sent", type_=points.c.sent_at.type),
                                delivered_at=sa.bindparam("b_delivered", type_=points.c.delivered_at.type)),
                        decisions)
    session.commit()
    outcomes.clear()


def _record_from_values(session: Session, values: list[tuple], token: str) -> None:
    """PostgreSQL: the group in one ``UPDATE … FROM (VALUES …)`` statement."""
    table = OutboxMessage.__table__
    stamp = table.c.sent_at.type
    rows = sa.values(sa.column("b_id", sa.Integer), sa.column("b_status", sa.String),
                     sa.column("b_error", sa.Text), sa.column("b_sent", stamp), sa.column("b_delivered", stamp),
                     sa.column("b_due", stamp), name="outcome").data(values)
    session.execute(
        table.update().where(table.c.id == rows.c.b_id, table.c.status == "sending", table.c.claim_token == token)
        .values(status=rows.c.b_status, last_error=sa.cast(rows.c.b_error, sa.Text), lease_until=None,
                sent_at=sa.func.coalesce(sa.cast(rows.c.b_sent, stamp), table.c.sent_at),
                delivered_at=sa.cast(rows.c.b_delivered, stamp), due_at=sa.cast(rows.c.b_due, stamp)),
        execution_options={"synchronize_session": False})


def requeue(session: Session, message: OutboxMessage, now: datetime) -> OutboxMessage:
    """Put a dead (or failing) message back as due now with a fresh attempt budget."""
    if message.status == "sent":
        raise ValueError("a sent message is not requeued")
    message.status, message.due_at, message.attempts, message.lease_until = "pending", now, 0, None
    session.flush()
    return message
