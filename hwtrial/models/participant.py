"""Participants, their consent and their allocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import JSONText, Model, UTCDateTime, utcnow

PARTICIPANT_STATUSES = ("active", "withdrawn")


class Participant(Model):
    __tablename__ = "hwtrial_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    #: The host platform's or recruiter's id; unique within a study.
    external_id: Mapped[str] = mapped_column(sa.String(200))
    #: Stratification values given at enrolment, e.g. {"site": "leeds"}.
    strata: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    #: Cluster (e.g. therapist) the participant belongs to, if any.
    cluster_key: Mapped[str | None] = mapped_column(sa.String(200))
    #: The therapist account that may see this participant's homework.
    therapist_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"), index=True)
    locale: Mapped[str | None] = mapped_column(sa.String(20))
    #: Where email reminders go; a direct identifier, given at enrolment (NULL: no email).
    email: Mapped[str | None] = mapped_column(sa.String(254))
    #: IANA time zone for schedules and reminders.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    #: active or withdrawn (withdrawn participants stay in the ITT set).
    status: Mapped[str] = mapped_column(sa.String(10), default="active")
    #: Consent for data use withdrawn: the data are flagged for exclusion.
    exclude_data: Mapped[bool] = mapped_column(default=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Where the participant came from: api, prolific, web.
    source: Mapped[str] = mapped_column(sa.String(20), default="api")
    #: Recruitment-platform identifiers (e.g. Prolific STUDY_ID and SESSION_ID).
    source_info: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    #: The participant paused their reminders until then / stopped them (from their pages).
    reminders_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped to revoke every access link issued so far.
    link_generation: Mapped[int] = mapped_column(default=0)

    allocation: Mapped[Allocation | None] = relationship(  # noqa: F821
        back_populates="participant", uselist=False
    )

    __table_args__ = (
        sa.UniqueConstraint("study_id", "external_id"),
        # enrolment over time and the last enrolment of a study (staff pages)
        sa.Index("ix_hwtrial_participant_study_id_enrolled_at", "study_id", "enrolled_at"),
        sa.Index("ix_hwtrial_participant_study_id_status", "study_id", "status"),
        sa.CheckConstraint(f"status IN {PARTICIPANT_STATUSES!r}", name="status"),
    )


class ConsentRecord(Model):
    """A participant's consent to one version of the consent text."""

    __tablename__ = "hwtrial_consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"), index=True)
    #: Version label of the consent text agreed to.
    version: Mapped[str] = mapped_column(sa.String(40))
    #: SHA-256 of the exact text shown, so a later edit of the text is detectable.
    text_sha256: Mapped[str] = mapped_column(sa.String(64))
    locale: Mapped[str] = mapped_column(sa.String(20))
    #: How consent was taken: web, api (host platform), paper.
    method: Mapped[str] = mapped_column(sa.String(20))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
