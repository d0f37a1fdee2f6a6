"""Questionnaire responses and the safety alerts they raise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONText, Model, UTCDateTime, utcnow


class QuestionnaireResponse(Model):
    __tablename__ = "hwtrial_questionnaire_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"), index=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"))
    instrument_key: Mapped[str] = mapped_column(sa.String(80))
    timepoint_key: Mapped[str] = mapped_column(sa.String(80))
    #: Item key → answer (None where skipped).
    answers: Mapped[dict[str, Any]] = mapped_column(JSONText)
    #: Score under the documented missing-item policy; NULL when too many items are missing.
    total: Mapped[float | None]
    band: Mapped[str | None] = mapped_column(sa.String(40))
    prorated: Mapped[bool] = mapped_column(default=False)
    n_missing: Mapped[int] = mapped_column(default=0)
    #: Answered inside the timepoint's window.
    in_window: Mapped[bool] = mapped_column(default=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("participant_id", "instrument_key", "timepoint_key"),
        # the last questionnaire of a study (staff study list)
        sa.Index("ix_hwtrial_questionnaire_response_study_id_submitted_at", "study_id", "submitted_at"),
    )


class SafetyAlert(Model):
    __tablename__ = "hwtrial_safety_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"))
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_questionnaire_response.id"))
    #: Human-readable reason, e.g. "phq9_9 = 2".
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
