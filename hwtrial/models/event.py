"""Engagement events reported by participant pages and host platforms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONText, Model, UTCDateTime, utcnow


class Event(Model):
    __tablename__ = "hwtrial_event"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("hwtrial_homework_instance.id"), index=True
    )
    #: Client-generated id: a replay answers as the first time did.
    client_event_id: Mapped[str] = mapped_column(sa.String(64))
    #: SHA-256 of the event's canonical body, to tell a replay from a conflicting reuse.
    body_sha256: Mapped[str] = mapped_column(sa.String(64))
    type: Mapped[str] = mapped_column(sa.String(40))
    client_time: Mapped[datetime] = mapped_column(UTCDateTime)
    server_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONText)

    __table_args__ = (
        sa.UniqueConstraint("study_id", "client_event_id"),
        # events per participant of a study (results) as an index-only scan
        sa.Index("ix_hwtrial_event_study_id_participant_id", "study_id", "participant_id"),
    )


class FeatureExposure(Model):
    """The first time a participant was exposed to each feature (per-protocol analyses)."""

    __tablename__ = "hwtrial_feature_exposure"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"))
    feature: Mapped[str] = mapped_column(sa.String(80))
    #: Where the exposure was observed: api (host app asked), web (page shown).
    channel: Mapped[str] = mapped_column(sa.String(20))
    first_exposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("participant_id", "feature"),)
