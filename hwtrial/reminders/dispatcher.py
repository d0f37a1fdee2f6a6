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
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
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


def claim_due(session: Session, now: datetime, *, limit: int, lease: timedelta,
              lease_from: datetime | None = None) -> tuple[list[int], str]:
    """Claim up to ``limit`` messages due at ``now`` for ``lease`` from ``lease_from`` (by
    default ``now``) and commit the claim.

    Returns the ids (by due time) and this claim's token: a row reclaimed by another worker
    after the lease carries that worker's token, and the first worker then leaves it alone.
    """
    messages, token = _claim(session, now, limit, (lease_from or now) + lease)
    return [m.id for m in messages], token


def _claim(session: Session, now: datetime, limit: int, lease_until: datetime) -> tuple[list[OutboxMessage], str]:
    """The claimed rows themselves, by due time: one ``UPDATE … WHERE id IN (SELECT … FOR
    UPDATE SKIP LOCKED) RETURNING`` where the database can (PostgreSQL, SQLite 3.35+), else a
    select, an update and a load."""
    token = uuid.uuid4().hex
    due = (sa.select(OutboxMessage.id).where(due_condition(now))
           .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit).with_for_update(skip_locked=True))
    claim = (sa.update(OutboxMessage)
             .values(status="sending", lease_until=lease_until, claim_token=token,
                     attempts=OutboxMessage.attempts + 1))
    if session.get_bind().dialect.update_returning:
        messages = list(session.scalars(
            claim.where(OutboxMessage.id.in_(due.scalar_subquery())).returning(OutboxMessage),
            execution_options={"synchronize_session": False, "populate_existing": True}))
    else:
        ids = list(session.scalars(due))
        session.execute(claim.where(OutboxMessage.id.in_(ids)), execution_options={"synchronize_session": False})
        messages = list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                        .execution_options(populate_existing=True))) if ids else []
    session.commit()
    messages.sort(key=lambda m: (m.due_at, m.id))
    return messages, token


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
                 record_every: float = 0.05, stop: Callable[[], bool] | None = None,
                 clock: Callable[[], datetime] | None = None) -> DispatchReport:
    """Send every message due at ``now`` (up to ``limit``) and record the outcomes.

    ``clock()`` is the time as the run goes on (by default ``now`` advancing with the run):
    leases run from it, not from ``now``, so a claim made after a slow planning step still
    holds for the whole lease.

    The batch is claimed, committed and loaded in one statement (and ``send.prepare(messages,
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
    clock = clock or advancing(now)
    with _kept_after_commit(session):  # the batch's rows are read, never written, by the ORM
        messages, token = _claim(session, now, limit, clock() + lease)
        if not messages:
            return DispatchReport()
        return _dispatch_claimed(session, messages, token, now, send, lease, retry, record_every, stop, clock)


def advancing(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and moves on with real (monotonic) time."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


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


def _dispatch_claimed(session, messages, token, now, send, lease, retry, record_every, stop, clock) -> DispatchReport:
    renewed = recorded = time.monotonic()
    ids = [m.id for m in messages]
    if hasattr(send, "prepare"):
        send.prepare(messages, now)
    # A sender that splits rendering (database reads, on this thread) from delivery (network
    # only) gets up to ``send.concurrency`` deliveries in flight; a plain callable runs one.
    render = getattr(send, "render", None) or (lambda message: message)
    deliver = getattr(send, "deliver", None) or send
    concurrency = max(1, int(getattr(send, "concurrency", 1)))
    held, pending, in_flight = set(ids), [], {}
    counts = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}

    def settle(outcome: _Outcome) -> None:
        counts[outcome.status if outcome.status != "pending" else "retried"] += 1
        pending.append(outcome)

    position = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="hwtrial-send") as pool:
        while position < len(messages) or in_flight:
            if time.monotonic() - renewed > lease.total_seconds() / 2:  # renew the rest in time
                _record(session, pending, token)
                renewed = recorded = time.monotonic()
                rest = [m.id for m in messages[position:]] + [m.id for m in in_flight.values()]
                held = _renew(session, rest, token, clock() + lease)
            if position < len(messages) and stop is not None and stop():
                _record(session, pending, token)
                _release(session, [m.id for m in messages[position:]], token)
                position = len(messages)  # hand the unsent rest back; what is in flight ends
            while position < len(messages) and len(in_flight) < concurrency:
                message = messages[position]
                position += 1
                if message.id not in held:
                    continue  # the lease ran out and another worker has it now
                try:
                    delivery = render(message)
                except Exception as error:
                    settle(_failed(message, error, now, retry))
                    continue
                in_flight[pool.submit(deliver, delivery)] = message
            if in_flight:
                # wake for the next record or renewal even while a server is slow to answer
                done, _ = wait(in_flight, timeout=max(record_every, 0.01), return_when=FIRST_COMPLETED)
                for future in done:
                    settle(_delivered(in_flight.pop(future), future, now, retry))
            if pending and time.monotonic() - recorded >= record_every:  # since the last commit
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


def _failed(message: OutboxMessage, error: Exception, now: datetime, retry: RetryPolicy) -> _Outcome:
    """A refusal or error of the channel, recorded (never raised): retried later or dead."""
    if isinstance(error, Cancelled):
        return _Outcome(message, "cancelled", str(error))
    error_text = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= retry.max_attempts:
        return _Outcome(message, "dead", error_text)
    return _Outcome(message, "pending", error_text, due_at=now + retry.delay(message.attempts))


def _delivered(message: OutboxMessage, future, now: datetime, retry: RetryPolicy) -> _Outcome:
    error = future.exception()
    if error is not None:
        return _failed(message, error, now, retry)
    receipt = future.result()
    return _Outcome(message, "sent", receipt=receipt if isinstance(receipt, Receipt) else Receipt(now, now))


def _record(session: Session, outcomes: list[_Outcome], token: str) -> None:
    """Write the outcomes in one transaction, on rows this claim still holds: one UPDATE
    statement, compiled once and executed for every row in a batch (psycopg pipelines it);
    sent micro-randomised reminders log their times on the decision."""
    if not outcomes:
        return
    rows = [{"b_id": o.message.id, "b_status": o.status, "b_error": o.error,
             "b_sent": o.receipt.sent_at if o.receipt else None,
             "b_delivered": o.receipt.delivered_at if o.receipt else None, "b_due": o.due_at or o.message.due_at}
            for o in outcomes]
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:  # one statement whatever the group's size: each column as one array
        session.execute(_RECORD_ARRAYS, {"token": token, **{k: [r[k] for r in rows] for k in rows[0]}})
    else:
        session.execute(_RECORD.where(OutboxMessage.__table__.c.claim_token == token), rows)
    if postgresql:
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


def _record_statement():
    table = OutboxMessage.__table__
    stamp = table.c.sent_at.type
    return (table.update().where(table.c.id == sa.bindparam("b_id"), table.c.status == "sending")
            .values(status=sa.bindparam("b_status"), last_error=sa.bindparam("b_error"), lease_until=None,
                    sent_at=sa.func.coalesce(sa.bindparam("b_sent", type_=stamp), table.c.sent_at),
                    delivered_at=sa.bindparam("b_delivered", type_=stamp),
                    due_at=sa.bindparam("b_due", type_=table.c.due_at.type)))


_RECORD = _record_statement()

#: PostgreSQL: the outcomes of a group as arrays, unnested into rows (a fixed text, so it is
#: parsed and planned once, and its parameters cost a few array conversions, not one per row).
_RECORD_ARRAYS = sa.text("""
UPDATE hwtrial_outbox AS o SET status = r.status, last_error = r.error, lease_until = NULL,
       sent_at = COALESCE(r.sent, o.sent_at), delivered_at = r.delivered, due_at = r.due
FROM unnest(CAST(:b_id AS bigint[]), CAST(:b_status AS text[]), CAST(:b_error AS text[]),
            CAST(:b_sent AS timestamptz[]), CAST(:b_delivered AS timestamptz[]), CAST(:b_due AS timestamptz[]))
     AS r(id, status, error, sent, delivered, due)
WHERE o.id = r.id AND o.status = 'sending' AND o.claim_token = :token
""")


def requeue(session: Session, message: OutboxMessage, now: datetime) -> OutboxMessage:
    """Put a dead (or failing) message back as due now with a fresh attempt budget."""
    if message.status == "sent":
        raise ValueError("a sent message is not requeued")
    message.status, message.due_at, message.attempts, message.lease_until = "pending", now, 0, None
    session.flush()
    return message
