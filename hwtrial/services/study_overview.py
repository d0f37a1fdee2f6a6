"""The staff study list: each study the caller may see with its enrolment and last activity.

A handful of grouped aggregates over all listed studies (one per source of activity), each
answered from an index on ``(study_id, <time>)``, so the list costs the same at 10 or
100,000 participants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..models import AuditEntry, HomeworkInstance, Participant, QuestionnaireResponse
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
    ids = [s.id for s in studies]
    if not ids:
        return []
    counts = {sid: (n, active) for sid, n, active in session.execute(
        sa.select(Participant.study_id, sa.func.count(),
                  sa.func.count().filter(Participant.status == "active"))
        .where(Participant.study_id.in_(ids)).group_by(Participant.study_id))}
    last: dict[int, datetime] = {}
    for column, study_col in ((Participant.enrolled_at, Participant.study_id),
                              (HomeworkInstance.submitted_at, HomeworkInstance.study_id),
                              (QuestionnaireResponse.submitted_at, QuestionnaireResponse.study_id)):
        rows = session.execute(sa.select(study_col, sa.func.max(column))
                               .where(study_col.in_(ids)).group_by(study_col))
        _keep_latest(last, rows)
    by_key = {s.key: s.id for s in studies}
    _keep_latest(last, ((by_key[key], at) for key, at in session.execute(
        sa.select(AuditEntry.study_key, sa.func.max(AuditEntry.at))
        .where(AuditEntry.study_key.in_(list(by_key))).group_by(AuditEntry.study_key))))
    return [StudySummary(key=s.key, title=s.title, status=s.status, version=s.current_version,
                         enrolled=counts.get(s.id, (0, 0))[0], active=counts.get(s.id, (0, 0))[1],
                         last_activity=last.get(s.id))
            for s in studies]


def _keep_latest(last: dict[int, datetime], rows) -> None:
    for study_id, at in rows:
        if at is not None and (study_id not in last or at > last[study_id]):
            last[study_id] = at
