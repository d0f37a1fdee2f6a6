"""How a therapist tailored one homework instance for a client (a research variable)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONText, Model, UTCDateTime, utcnow


class HomeworkTailoring(Model):
    """One row per tailored (or ad hoc) instance; the instance's texts come from it."""

    __tablename__ = "hwtrial_homework_tailoring"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_homework_instance.id"), unique=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_study.id"), index=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_participant.id"), index=True)
    #: The template tailored (``adhoc`` for ad hoc work).
    template_key: Mapped[str] = mapped_column(sa.String(80))
    #: Locale of the texts the therapist started from.
    locale: Mapped[str] = mapped_column(sa.String(20))
    #: The therapist (or coordinator) who tailored it.
    tailored_by: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    tailored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Texts started from: the template's default wording, never an arm's framing.
    original: Mapped[dict[str, Any]] = mapped_column(JSONText)
    #: Only the changed keys, overlaid on the client's texts.
    tailored: Mapped[dict[str, Any]] = mapped_column(JSONText)
    #: ``[{key, original, tailored}]``: one entry per edited key (the structured diff).
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONText)
