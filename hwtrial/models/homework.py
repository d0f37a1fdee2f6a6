"""Homework instances: one per participant and schedule slot (or ad hoc assignment)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import JSONText, Model, UTCDateTime, utcnow

HOMEWORK_STATES = ("scheduled", "delivered", "opened", "started", "submitted", "expired")
#: Numeric ``metrics`` fields also stored as columns (see :meth:`HomeworkInstance.set_metrics`).
METRIC_COLUMNS = ("active_seconds", "edits", "words", "self_review_depth", "effort")
#: States whose outcome is known (the adherence denominator of the results service).
CLOSED_STATES = ("submitted", "expired")
_CLOSED = sa.text(f"state IN {CLOSED_STATES!r}")


class HomeworkInstance(Model):
    __tablename__ = "hwtrial_homework_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"), index=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"))
    template_key: Mapped[str] = mapped_column(sa.String(80))
    #: Stable key of the schedule slot (regeneration after an amendment is idempotent).
    slot_key: Mapped[str] = mapped_column(sa.String(200))
    #: schedule or adhoc (assigned by a therapist).
    origin: Mapped[str] = mapped_column(sa.String(10), default="schedule")
    assigned_by: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    state: Mapped[str] = mapped_column(sa.String(10), default="scheduled")
    open_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Submitted after the due time (but before expiry).
    late: Mapped[bool] = mapped_column(default=False)
    #: Autosaved, possibly invalid answers.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    #: Validated answers at submission.
    submission: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    #: The client's own self-review (answers to the arm's self-review prompt), if the arm has it.
    self_review: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    #: ``client`` once the client has self-reviewed (kept for the exports' stable columns).
    reviewer_role: Mapped[str | None] = mapped_column(sa.String(10))
    #: No longer written (before migration 0008 a staff review overwrote the self-review here).
    reviewed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    #: When the client self-reviewed.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The review a therapist recorded (reflection, usefulness), kept apart from the client's own:
    #: client- vs therapist-led review is a research question.
    therapist_review: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    #: Who led that review: ``therapist`` or ``client`` (the client reviewed it with the therapist).
    therapist_review_led: Mapped[str | None] = mapped_column(sa.String(10))
    therapist_reviewed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    therapist_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Server-derived engagement metrics (active seconds, edits, words, …).
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copies of the numeric metrics: the results service sums columns in SQL instead of
    # parsing a million JSON documents per call (migration 0002 backfills them).
    #: Focus-aware working seconds (metrics.active_seconds).
    active_seconds: Mapped[float | None] = mapped_column(sa.Float)
    #: De-duplicated field changes (metrics.edits).
    edits: Mapped[int | None] = mapped_column(sa.Integer)
    #: Words in the submitted text fields (metrics.words).
    words: Mapped[int | None] = mapped_column(sa.Integer)
    #: 0-3 self-review depth (metrics.self_review_depth).
    self_review_depth: Mapped[int | None] = mapped_column(sa.Integer)
    #: Effort rating, if given (metrics.effort).
    effort: Mapped[float | None] = mapped_column(sa.Float)

    #: How a therapist tailored this instance (None: the template's texts as they are).
    tailoring: Mapped[HomeworkTailoring | None] = relationship(  # noqa: F821
        uselist=False, viewonly=True, lazy="select")

    __table_args__ = (
        sa.UniqueConstraint("participant_id", "slot_key"),
        sa.CheckConstraint(f"state IN {HOMEWORK_STATES!r}", name="state"),
        # Covering and partial: the results aggregate reads only this index (about a fifth
        # of the table) in participant order, so it needs no heap access and no sort.
        sa.Index("ix_hwtrial_homework_instance_closed_metrics", "study_id", "participant_id",
                 "state", "late", "active_seconds", "edits", "words", "self_review_depth",
                 postgresql_where=_CLOSED, sqlite_where=_CLOSED),
        # the staff study page: last submission, and adherence over time (closed, in due order)
        sa.Index("ix_hwtrial_homework_instance_study_id_submitted_at", "study_id", "submitted_at"),
        sa.Index("ix_hwtrial_homework_instance_study_id_state", "study_id", "state"),
        sa.Index("ix_hwtrial_homework_instance_closed_due", "study_id", "due_at", "participant_id", "state",
                 postgresql_where=_CLOSED, sqlite_where=_CLOSED),
    )

    def set_metrics(self, metrics: dict[str, Any] | None) -> None:
        """Store derived metrics: the JSON document and its numeric column copies."""
        self.metrics = metrics
        for key in METRIC_COLUMNS:
            setattr(self, key, (metrics or {}).get(key))
