"""What staff see of a study's participants: the searchable list and one participant's record.

The list is paged first (one filtered query over participants) and the figures of the page's
rows are then computed with a few ``GROUP BY participant_id`` aggregates, so a page costs the
same with 100 or 100,000 participants. Blinding as :func:`enrolment.participant_view`: arm
keys only for callers who may see arms, identifiers (external id, email) only for those who
enrol and coordinate, reminder deliveries (who gets reminders is the arm) only for coordination.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..api.fields import ID_MAX
from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import (
    Allocation,
    ConsentRecord,
    Event,
    HomeworkInstance,
    OutboxMessage,
    Participant,
    QuestionnaireResponse,
    SafetyAlert,
    Study,
    User,
    utcnow,
)
from ..models.participant import PARTICIPANT_STATUSES
from ..randomisation.strata import stratum_key
from . import blinding
from .allocation import STUDY_WIDE, design_of
from .enrolment import participants_query

PAGE_SIZE = 50
#: A search for "P-12", "p12" or "12" finds participant 12 (the pseudonymous id staff see).
_PSEUDONYM = re.compile(r"[Pp]-?(\d{1,10})")


def pseudonym(participant_id: int) -> str:
    """The id shown to staff who may not see identifiers: hwtrial's own id, not the host's."""
    return f"P-{participant_id}"


def sees_reminders(principal: Principal) -> bool:
    """Reminder deliveries reveal the arm; the API lists them to coordination only."""
    return principal.is_staff and principal.role in ("admin", "coordinator")


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    #: External id and email: None for callers without the right to identifiers.
    external_id: str | None
    email: str | None
    status: str
    stratum: str
    enrolled_at: datetime
    #: Homework due so far (due time passed) and how many of those were submitted.
    due: int
    submitted: int
    #: Latest of task opened/started/submitted, questionnaire answered, engagement event.
    last_activity: datetime | None
    #: Arm key, only for callers who may see arms.
    arm: str | None

    @property
    def pseudonym(self) -> str:
        return pseudonym(self.id)


@dataclass(frozen=True)
class ParticipantListPage:
    rows: tuple[ParticipantRow, ...]
    total: int
    page: int
    pages: int
    #: The stratum keys the filter offers (every combination of the stratification levels).
    strata: tuple[str, ...]
    shows_arms: bool
    shows_identifiers: bool
    #: The study has no participants at all (not merely none matching the filters).
    empty_study: bool


def stratum_options(study: Study) -> tuple[str, ...]:
    design = design_of(study)
    factors = design.stratum_factors
    if not factors:
        return ()
    combos = itertools.product(*(design.levels[f] for f in factors))
    return tuple(stratum_key(factors, dict(zip(factors, combo, strict=True))) for combo in combos)


def _search(principal: Principal, q: str) -> sa.ColumnElement[bool] | None:
    q = q.strip()
    if not q:
        return None
    found = _PSEUDONYM.fullmatch(q)
    by_id = Participant.id == int(found.group(1)) if found and int(found.group(1)) <= ID_MAX else sa.false()
    if not blinding.sees_external_ids(principal):
        return by_id
    return sa.or_(by_id, Participant.external_id.icontains(q, autoescape=True),
                  Participant.email.icontains(q, autoescape=True))


def _filters(principal: Principal, study: Study, q: str, status: str | None,
             stratum: str | None) -> sa.Select:
    errors = {}
    if status and status not in PARTICIPANT_STATUSES:
        errors["status"] = [f"one of {', '.join(PARTICIPANT_STATUSES)}"]
    if stratum and stratum not in stratum_options(study):
        errors["stratum"] = ["not a stratum of this study"]
    if len(q) > 200:
        errors["q"] = ["at most 200 characters"]
    if errors:
        raise ServiceError(422, "invalid filter", errors)
    query = participants_query(principal, study, {"status": status or None})
    query = query.outerjoin(Allocation, Allocation.participant_id == Participant.id)
    if stratum:
        query = query.where(Allocation.stratum_key == stratum)
    condition = _search(principal, q)
    return query if condition is None else query.where(condition)


def list_page(session: Session, principal: Principal, study: Study, *, q: str = "",
              status: str | None = None, stratum: str | None = None, page: int = 1,
              page_size: int = PAGE_SIZE, now: datetime | None = None) -> ParticipantListPage:
    """One page of the participants the caller may see, newest first, with their figures."""
    now = now or utcnow()
    query = _filters(principal, study, q, status, stratum)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    picked = session.execute(
        query.with_only_columns(Participant.id, Participant.external_id, Participant.email,
                                Participant.status, Participant.enrolled_at, Allocation.stratum_key,
                                Allocation.arm_key)
        .order_by(Participant.id.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    arms, ids = blinding.can_see_arms(principal, study), blinding.sees_external_ids(principal)
    figures = _figures(session, study, [r.id for r in picked], now, blinded=not arms)
    rows = tuple(ParticipantRow(
        id=r.id, external_id=r.external_id if ids else None, email=r.email if ids else None,
        status=r.status, stratum=_stratum_label(r.stratum_key), enrolled_at=r.enrolled_at,
        due=figures.get(r.id, {}).get("due", 0), submitted=figures.get(r.id, {}).get("submitted", 0),
        last_activity=figures.get(r.id, {}).get("last"), arm=r.arm_key if arms else None)
        for r in picked)
    empty = total == 0 and session.scalar(
        sa.select(sa.func.count()).select_from(participants_query(principal, study, {}).subquery())) == 0
    return ParticipantListPage(rows, total, page, pages, stratum_options(study), arms, ids, empty)


def _stratum_label(key: str | None) -> str:
    return "" if key in (None, STUDY_WIDE) else key


def _figures(session: Session, study: Study, ids: list[int], now: datetime, *,
             blinded: bool) -> dict[int, dict[str, Any]]:
    """Adherence so far and last activity of ``ids``: three aggregates, one row per participant.

    For a ``blinded`` caller the last activity leaves out event types only some arms produce
    (a reminder click, a feature exposure): their times would tell the arm, as in a blinded export.
    """
    from ..exports.tables import ARM_EVENT_TYPES

    if not ids:
        return {}
    hw = HomeworkInstance
    is_due = hw.due_at <= now
    out: dict[int, dict[str, Any]] = {i: {"due": 0, "submitted": 0, "last": None} for i in ids}
    for pid, due, submitted, *times in session.execute(
            sa.select(hw.participant_id,
                      sa.func.sum(sa.case((is_due, 1), else_=0)),
                      sa.func.sum(sa.case((sa.and_(is_due, hw.state == "submitted"), 1), else_=0)),
                      sa.func.max(hw.opened_at), sa.func.max(hw.started_at), sa.func.max(hw.submitted_at))
            .where(hw.study_id == study.id, hw.participant_id.in_(ids)).group_by(hw.participant_id)):
        out[pid].update(due=int(due or 0), submitted=int(submitted or 0))
        _later(out[pid], *times)
    events = Event.type.not_in(ARM_EVENT_TYPES) if blinded else sa.true()
    for table, column, only in ((QuestionnaireResponse, QuestionnaireResponse.submitted_at, sa.true()),
                                (Event, Event.server_time, events)):
        for pid, last in session.execute(
                sa.select(table.participant_id, sa.func.max(column))
                .where(table.study_id == study.id, table.participant_id.in_(ids), only)
                .group_by(table.participant_id)):
            _later(out[pid], last)
    return out


def _later(figures: dict[str, Any], *times: datetime | None) -> None:
    for value in times:
        if value is not None and (figures["last"] is None or value > figures["last"]):
            figures["last"] = value


# --- one participant ----------------------------------------------------------------------------

#: What a task's row says, in the order staff think of it.
TASK_LABELS = ("scheduled", "open", "due", "submitted", "reviewed", "expired")


def task_label(instance: Any, now: datetime) -> str:
    """scheduled (not open yet), open, due (past its due time, still accepted), submitted,
    reviewed (submitted and reviewed by the therapist) or expired. A client's own
    self-review does not count: only some arms have one, so it would tell the arm."""
    if instance.state == "submitted":
        return "reviewed" if instance.therapist_reviewed_at is not None else "submitted"
    if instance.state == "expired" or instance.expire_at <= now:
        return "expired"
    if instance.due_at <= now:
        return "due"
    return "open" if instance.open_at <= now else "scheduled"


@dataclass(frozen=True)
class TaskRow:
    id: int
    template: str
    origin: str
    open_at: datetime
    due_at: datetime
    label: str
    submitted_at: datetime | None
    late: bool
    #: client when the client self-reviewed; None when not or the caller is blinded to self-reviews.
    reviewer_role: str | None
    reviewed_at: datetime | None
    #: Who led the therapist's review (therapist or client) and when it was recorded.
    therapist_review_led: str | None = None
    therapist_reviewed_at: datetime | None = None


@dataclass(frozen=True)
class ParticipantRecord:
    participant: Participant
    pseudonym: str
    external_id: str | None
    email: str | None
    stratum: str
    #: Arm key, only for callers who may see arms.
    arm: str | None
    therapist: str | None
    tasks: tuple[TaskRow, ...]
    questionnaires: tuple[QuestionnaireResponse, ...]
    consents: tuple[ConsentRecord, ...]
    alerts: tuple[SafetyAlert, ...]
    #: Reminder and alert deliveries; None for callers who may not see them (they reveal the arm).
    reminders: tuple[OutboxMessage, ...] | None
    adherence: tuple[int, int]

    @property
    def withdrawn(self) -> bool:
        return self.participant.status == "withdrawn"


def participant_record(session: Session, principal: Principal, study: Study, participant: Participant,
                       now: datetime | None = None) -> ParticipantRecord:
    """Everything one participant's page shows, as this caller may see it."""
    now = now or utcnow()
    pid = participant.id
    instances = session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                                .order_by(HomeworkInstance.open_at, HomeworkInstance.id)).all()
    tasks = tuple(_task_row(blinding.homework_for(principal, study, i), now) for i in instances)
    due = [t for t in tasks if t.due_at <= now]
    therapist = session.get(User, participant.therapist_id) if participant.therapist_id else None
    allocation = participant.allocation
    ids = blinding.sees_external_ids(principal)
    return ParticipantRecord(
        participant=participant, pseudonym=pseudonym(pid),
        external_id=participant.external_id if ids else None, email=participant.email if ids else None,
        stratum=_stratum_label(allocation.stratum_key if allocation else None),
        arm=allocation.arm_key if allocation and blinding.can_see_arms(principal, study) else None,
        therapist=(therapist.display_name or therapist.email) if therapist else None, tasks=tasks,
        questionnaires=_rows(session, QuestionnaireResponse, pid, QuestionnaireResponse.submitted_at),
        consents=_rows(session, ConsentRecord, pid, ConsentRecord.consented_at),
        alerts=_rows(session, SafetyAlert, pid, SafetyAlert.created_at),
        reminders=_rows(session, OutboxMessage, pid, OutboxMessage.due_at) if sees_reminders(principal) else None,
        adherence=(sum(t.label in ("submitted", "reviewed") for t in due), len(due)))


def _rows(session: Session, model: Any, participant_id: int, order: Any) -> tuple:
    return tuple(session.scalars(sa.select(model).where(model.participant_id == participant_id)
                                 .order_by(order, model.id)))


def _task_row(instance: Any, now: datetime) -> TaskRow:
    return TaskRow(id=instance.id, template=instance.template_key, origin=instance.origin,
                   open_at=instance.open_at, due_at=instance.due_at, label=task_label(instance, now),
                   submitted_at=instance.submitted_at, late=bool(instance.late),
                   reviewer_role=instance.reviewer_role, reviewed_at=instance.reviewed_at,
                   therapist_review_led=instance.therapist_review_led,
                   therapist_reviewed_at=instance.therapist_reviewed_at)
