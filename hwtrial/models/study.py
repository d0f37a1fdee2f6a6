"""Studies and their versioned, locked definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import JSONText, Model, UTCDateTime, utcnow

STUDY_STATUSES = ("draft", "active", "closed")


class Study(Model):
    __tablename__ = "hwtrial_study"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Slug from the study file; used in URLs.
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    #: draft → active → closed.
    status: Mapped[str] = mapped_column(sa.String(10), default="draft")
    #: Number of the version in force (the highest).
    current_version: Mapped[int] = mapped_column(default=1)
    #: CSPRNG seed of every allocation draw; never leaves the server.
    allocation_seed: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when study-level unblinding was approved by a second person.
    unblinded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped in the same transaction as every write that can change the study's results
    #: (:mod:`hwtrial.models.data_version`); the results cache keys on it.
    data_version: Mapped[int] = mapped_column(default=0, server_default="0")

    versions: Mapped[list[StudyVersion]] = relationship(
        back_populates="study", order_by="StudyVersion.version"
    )

    __table_args__ = (sa.CheckConstraint(f"status IN {STUDY_STATUSES!r}", name="status"),)

    @property
    def definition(self) -> dict[str, Any]:
        return self.versions[-1].definition


class StudyVersion(Model):
    """One immutable version of a study's definition; amendments add rows."""

    __tablename__ = "hwtrial_study_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    version: Mapped[int]
    #: The normalised definition (see :mod:`hwtrial.studydef`).
    definition: Mapped[dict[str, Any]] = mapped_column(JSONText)
    #: Why this version exists (required for amendments).
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    #: The study file's text as given (YAML), for the diff between versions; NULL when the
    #: definition came as JSON or before this was kept.
    source_text: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))

    study: Mapped[Study] = relationship(back_populates="versions")

    __table_args__ = (sa.UniqueConstraint("study_id", "version"),)


class UnblindingRequest(Model):
    """Study-level unblinding: one person asks with a reason, a second approves."""

    __tablename__ = "hwtrial_unblinding_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    requested_by: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
