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

    __table_args__ = (sa.UniqueConstraint("participant_id", "point_index"),)


class OutboxMessage(Model):
    """Email or webhook queued in the same transaction as its cause; sent after commit."""

    __tablename__ = "hwtrial_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Deduplication key: the same message is never queued twice.
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONText)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
