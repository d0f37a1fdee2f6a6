"""The staff study list: each study the caller may see with its enrolment and last activity.

One statement for all listed studies: per study a MAX per source of activity, each answered
by one lookup in an index on ``(study, time)``, and two counts read from the index on
``(study_id, status)``, so the list costs about the same at 10 or 100,000 participants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..models import AuditEntry, HomeworkInstance, Participant, QuestionnaireResponse, Study
from .studies import list_studies


@dataclass(frozen=True)
class StudySummary:
    """One row of the study list."""

    key: str
    title: str
    status: str
    version: int
    #: Participants ever enrolled, and those still active (not withdrawn).
    enrolled: int
    active: int
    #: Latest enrolment, homework or questionnaire submission, or audited action; None if none.
    last_activity: datetime | None


def study_summaries(session: Session, principal: Principal) -> list[StudySummary]:
    studies = list_studies(session, principal)
    if not studies:
        return []
    # One statement: a scalar subquery per study and source. Each MAX is answered by its
    # (study, time) index in one lookup; a GROUP BY over all studies would read every row.
    columns = []
    for column, study_col in ((Participant.enrolled_at, Participant.study_id),
                              (HomeworkInstance.submitted_at, HomeworkInstance.study_id),
                              (QuestionnaireResponse.submitted_at, QuestionnaireResponse.study_id)):
        columns.append(sa.select(sa.func.max(column)).where(study_col == Study.id).scalar_subquery())
    columns.append(sa.select(sa.func.max(AuditEntry.at)).where(AuditEntry.study_key == Study.key)
                   .scalar_subquery())
    columns.append(sa.select(sa.func.count()).where(Participant.study_id == Study.id).scalar_subquery())
    columns.append(sa.select(sa.func.count()).where(Participant.study_id == Study.id,
                                                    Participant.status == "active").scalar_subquery())
    rows = {row[0]: row[1:] for row in session.execute(
        sa.select(Study.id, *columns).where(Study.id.in_([s.id for s in studies])))}
    out = []
    for study in studies:
        *times, enrolled, active = rows[study.id]
        times = [_aware(t) for t in times if t is not None]
        out.append(StudySummary(key=study.key, title=study.title, status=study.status,
                                version=study.current_version, enrolled=enrolled, active=active,
                                last_activity=max(times) if times else None))
    return out


def _aware(value) -> datetime:
    """A scalar subquery's MAX comes back untyped on SQLite (text): read it as a UTC time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
