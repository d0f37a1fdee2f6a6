"""Allocation state and log. UNIQUE constraints stand behind every invariant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import JSONText, Model, UTCDateTime, utcnow


class AllocationState(Model):
    """The lockable running state of one stratum (or of the whole study for minimisation).

    Enrolment locks this row (``FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite)
    before it draws, so two enrolments never read the same state.
    """

    __tablename__ = "hwtrial_allocation_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    #: Stratum key, or "*" for study-wide state (minimisation, simple).
    stratum_key: Mapped[str] = mapped_column(sa.String(400))
    #: Running counts (minimisation: factor → level → arm → n); no history scans.
    counts: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    #: Current permuted block (NULL before the first) and the next position in it.
    block_no: Mapped[int | None]
    next_position: Mapped[int] = mapped_column(default=0)
    #: Allocations made in this state so far.
    n_allocated: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint("study_id", "stratum_key"),)


class AllocationBlock(Model):
    """A generated permuted block; never exposed by any API before it is used."""

    __tablename__ = "hwtrial_allocation_block"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    stratum_key: Mapped[str] = mapped_column(sa.String(400))
    block_no: Mapped[int]
    #: The arm keys in allocation order.
    sequence: Mapped[list[str]] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("study_id", "stratum_key", "block_no"),)


class Allocation(Model):
    """The allocation log: one row per randomised participant (or cluster member)."""

    __tablename__ = "hwtrial_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    participant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hwtrial_participant.id"), unique=True
    )
    #: 1, 2, 3 … within the study: the order draws were made in (replay order).
    sequence_no: Mapped[int]
    arm_key: Mapped[str] = mapped_column(sa.String(200))
    #: Method that decided (e.g. permuted_blocks, minimisation, cluster_inherited).
    method: Mapped[str] = mapped_column(sa.String(40))
    #: Probability with which this arm was chosen.
    probability: Mapped[float]
    stratum_key: Mapped[str] = mapped_column(sa.String(400), default="*")
    block_no: Mapped[int | None]
    position: Mapped[int | None]
    #: Study version in force at allocation.
    study_version: Mapped[int]
    #: Method diagnostics, e.g. imbalance score per arm.
    diagnostics: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant] = relationship(back_populates="allocation")  # noqa: F821

    __table_args__ = (
        sa.UniqueConstraint("study_id", "sequence_no"),
        sa.UniqueConstraint("study_id", "stratum_key", "block_no", "position"),
    )


class Cluster(Model):
    """A randomised cluster (therapist or site); its members inherit its arm."""

    __tablename__ = "hwtrial_cluster"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"))
    cluster_key: Mapped[str] = mapped_column(sa.String(200))
    arm_key: Mapped[str] = mapped_column(sa.String(200))
    probability: Mapped[float]
    covariates: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("study_id", "cluster_key"),)
