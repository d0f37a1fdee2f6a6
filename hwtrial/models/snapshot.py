"""Computed results kept in the database, so every worker process (and a restarted one)
serves a result computed once, and a slow computation can run in the background."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model, UTCDateTime


class ResultsSnapshot(Model):
    """One computed part (a results document, the report's flow and plots) of one study.

    ``stamp`` is the study's data stamp the part was computed from
    (:func:`hwtrial.models.data_version.results_stamp`); a part is current while it equals
    the study's stamp now. ``payload`` is signed with the app's secret key: a row that does
    not verify is ignored (recomputed), never loaded.
    """

    __tablename__ = "hwtrial_results_snapshot"
    __table_args__ = (sa.UniqueConstraint("study_id", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id", ondelete="CASCADE"))
    #: Which computation: e.g. ``results|blind|itt|flow,srm`` (see ``services.results_cache``).
    part: Mapped[str] = mapped_column(sa.String(400))
    stamp: Mapped[str] = mapped_column(sa.String(120))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: How long the computation took: decides whether a page waits for the next one.
    compute_ms: Mapped[int] = mapped_column(sa.Integer)
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: A worker process recomputing this part holds it until then (one refresh at a time).
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
