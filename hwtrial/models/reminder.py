"""Micro-randomised decision points and the outbox (reminders roadmap)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONText, Model, UTCDateTime, utcnow


class DecisionPoint(Model):
    """One micro-randomisation: logged with its probability and availability."""

    __tablename__ = "hwtrial_decision_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"))
    #: Index of the decision point for this participant (0, 1, 2, …).
    point_index: Mapped[int]
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available: Mapped[bool]
    probability: Mapped[float]
    #: NULL when unavailable (no draw is made).
    treated: Mapped[bool | None]
    #: The participant's wall time at the decision point (ISO 8601 with offset).
    local_time: Mapped[str | None] = mapped_column(sa.String(40))
    #: Day in study (0 = the local day of enrolment): the WCLS analysis's time control.
    study_day: Mapped[int | None]
    #: Why the participant was unavailable: quiet_hours, completed_today, daily_maximum,
    #: no_open_task, missed (no worker ran at the time).
    unavailable_reason: Mapped[str | None] = mapped_column(sa.String(20))
    #: When the reminder of a treated point was handed to its channel, when the channel
    #: acknowledged it (SMTP server accepted it / webhook receiver answered 2xx), and clicked.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("participant_id", "point_index"),)


#: Outbox states: ``pending`` waits for ``due_at``; ``sending`` is claimed by a worker until
#: ``lease_until`` (a worker that dies leaves it to be claimed again after the lease); ``sent``
#: and ``dead`` (gave up after the configured attempts) are final; ``cancelled`` is a reminder
#: that no longer applies when its time came (task submitted or expired, participant withdrawn,
#: re-planned to another time).
OUTBOX_STATES = ("pending", "sending", "sent", "dead", "cancelled")


class OutboxMessage(Model):
    """Email or webhook queued in the same transaction as its cause; sent after commit by the
    dispatcher (:mod:`hwtrial.reminders.dispatcher`)."""

    __tablename__ = "hwtrial_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Deduplication key: the same message is never queued twice. Also the idempotency key a
    #: receiver sees (SMTP Message-ID), so a resend after a crash can be dropped.
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONText)
    #: Earliest time of the next attempt (moved forward by the retry backoff).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Handed to the channel (the last attempt's start), and acknowledged by it.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: One of :data:`OUTBOX_STATES`.
    status: Mapped[str] = mapped_column(sa.String(10), default="pending", server_default="pending")
    #: A claimed message belongs to its worker until then.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Which claim holds the row (a worker that lost it to another after its lease stops there).
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    #: The study and participant a message is about (NULL for messages about neither).
    study_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_participant.id"), index=True)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {OUTBOX_STATES!r}", name="status"),
        sa.Index("ix_hwtrial_outbox_status_due_at", "status", "due_at"),
        sa.Index("ix_hwtrial_outbox_study_id_status", "study_id", "status"),
    )
