"""The therapist workspace: a caseload across studies, one client's work, a homework to review.

Who sees whom is decided when a client is loaded (:func:`load_client`): a therapist only
their own clients, coordinators and admins anyone in the studies their token may touch;
everyone else's client is "not found" whether or not the id exists. Nothing here returns an
arm: counts are the same kind for every arm ("awaiting review" means no staff review yet,
so a client's own self-review, which only some arms have, does not change it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..homework.engagement import Week, weekly_engagement
from ..homework.tailoring import apply_tailoring
from ..models import (
    HomeworkInstance,
    Participant,
    QuestionnaireResponse,
    SafetyAlert,
    Study,
    User,
    utcnow,
)
from . import assignment
from .blinding import homework_for, sees_external_ids
from .homework import FINAL, THERAPIST_REVIEW_SCALE, review_fields, template_spec

#: Most clients listed at once (a coordinator's "everyone" in a large trial).
LIST_LIMIT = 500


@dataclass(frozen=True)
class CaseloadRow:
    """One client and where their homework stands."""

    participant_id: int
    study_key: str
    study_title: str
    status: str
    enrolled_at: datetime
    therapist_id: int | None
    #: The host's id, only for callers who may see it (coordinators, admins).
    external_id: str | None
    #: Open now and not yet due.
    due: int
    #: Past due, not submitted, not yet expired (can still be done).
    late: int
    #: Expired without a submission.
    missed: int
    submitted: int
    #: Submitted, no staff review recorded yet.
    awaiting_review: int
    open_alerts: int
    last_activity: datetime | None


@dataclass(frozen=True)
class Caseload:
    rows: list[CaseloadRow]
    #: The therapist whose caseload this is (None: every client the caller may see).
    therapist: User | None
    #: ``(id, name)`` of therapists a coordinator may filter by (empty for therapists).
    therapists: list[tuple[int, str]] = field(default_factory=list)
    truncated: bool = False


def _visible(principal: Principal):
    """Participant filter for the caller (a therapist: own clients; a scoped token: its studies)."""
    where = []
    if principal.role == "therapist":
        where.append(Participant.therapist_id == principal.user.id)
    if principal.study_keys is not None:
        where.append(Study.key.in_(sorted(principal.study_keys)))
    return where


def caseload(session: Session, principal: Principal, *, therapist_id: int | None = None,
             now: datetime | None = None) -> Caseload:
    """Clients with due, late, missed, submitted and unreviewed counts and open alerts (2 queries)."""
    now = now or utcnow()
    therapist = None
    if principal.role == "therapist":
        if therapist_id not in (None, principal.user.id):
            raise ServiceError(404, "no such therapist")
        therapist = principal.user
    elif therapist_id is not None:
        therapist = session.get(User, therapist_id)
        if therapist is None or therapist.role != "therapist":
            raise ServiceError(404, "no such therapist", {"therapist": ["not a therapist"]})
    where = _visible(principal) + ([Participant.therapist_id == therapist.id] if therapist else [])
    people = (sa.select(Participant.id).join(Study, Study.id == Participant.study_id).where(*where))
    alerts = (sa.select(SafetyAlert.participant_id, sa.func.count().label("n"))
              .where(SafetyAlert.acknowledged_at.is_(None), SafetyAlert.participant_id.in_(people))
              .group_by(SafetyAlert.participant_id).subquery())
    # The page first (clients with open alerts first, then active ones), so the homework
    # aggregate reads only the listed clients' rows, however many the caller may see.
    n_alerts = sa.func.coalesce(alerts.c.n, 0)
    page = (sa.select(Participant.id.label("pid"), n_alerts.label("alerts"))
            .join(Study, Study.id == Participant.study_id)
            .outerjoin(alerts, alerts.c.participant_id == Participant.id).where(*where)
            .order_by(n_alerts.desc(), Participant.status, Participant.id).limit(LIST_LIMIT + 1).subquery())
    hw = HomeworkInstance
    pending = hw.state.not_in(FINAL)
    counts = (sa.select(
        hw.participant_id,
        sa.func.sum(sa.case((sa.and_(pending, hw.open_at <= now, hw.due_at > now, hw.expire_at > now), 1),
                            else_=0)).label("due"),
        sa.func.sum(sa.case((sa.and_(pending, hw.due_at <= now, hw.expire_at > now), 1), else_=0)).label("late"),
        sa.func.sum(sa.case((sa.or_(hw.state == "expired", sa.and_(pending, hw.expire_at <= now)), 1),
                            else_=0)).label("missed"),
        sa.func.sum(sa.case((hw.state == "submitted", 1), else_=0)).label("submitted"),
        sa.func.sum(sa.case((sa.and_(hw.state == "submitted", hw.therapist_reviewed_at.is_(None)), 1),
                            else_=0)).label("awaiting"),
        sa.func.max(sa.func.coalesce(hw.submitted_at, hw.started_at, hw.opened_at)).label("last"))
        .where(hw.participant_id.in_(sa.select(page.c.pid))).group_by(hw.participant_id).subquery())
    query = (sa.select(Participant.id, Participant.status, Participant.enrolled_at, Participant.therapist_id,
                       Participant.external_id, Study.key, Study.title, counts.c.due, counts.c.late,
                       counts.c.missed, counts.c.submitted, counts.c.awaiting, counts.c.last, page.c.alerts)
             .join(page, page.c.pid == Participant.id)
             .join(Study, Study.id == Participant.study_id)
             .outerjoin(counts, counts.c.participant_id == Participant.id)
             .order_by(page.c.alerts.desc(), Participant.status, sa.func.coalesce(counts.c.late, 0).desc(),
                       Participant.id))
    external = sees_external_ids(principal)
    rows = [CaseloadRow(r[0], r[5], r[6], r[1], r[2], r[3], r[4] if external else None,
                        int(r[7] or 0), int(r[8] or 0), int(r[9] or 0), int(r[10] or 0), int(r[11] or 0),
                        int(r[13] or 0), r[12]) for r in session.execute(query)]
    therapists = [] if principal.role == "therapist" else [
        (u.id, u.display_name or u.email) for u in session.scalars(
            sa.select(User).where(User.role == "therapist", User.active.is_(True)).order_by(User.id))]
    return Caseload(rows[:LIST_LIMIT], therapist, therapists, truncated=len(rows) > LIST_LIMIT)


def load_client(session: Session, principal: Principal, participant_id: int) -> tuple[Participant, Study]:
    """The client and their study, or 404 for anyone who may not care for them (no existence leak)."""
    found = session.execute(sa.select(Participant, Study).join(Study, Study.id == Participant.study_id)
                            .where(Participant.id == participant_id, *_visible(principal))).first()
    if found is None:
        raise ServiceError(404, "no such client")
    return found[0], found[1]


@dataclass(frozen=True)
class ClientView:
    participant: Participant
    study: Study
    #: Homework as the caller may see it (:func:`~hwtrial.services.blinding.homework_for`), newest first.
    homework: list[Any]
    open_alerts: list[SafetyAlert]
    #: ``(key, title)`` of the study's templates, and ``adhoc``.
    templates: list[tuple[str, str]]
    external_id: str | None


def client_view(session: Session, principal: Principal, participant_id: int,
                now: datetime | None = None) -> ClientView:
    participant, study = load_client(session, principal, participant_id)
    rows = session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == participant.id)
                           .order_by(HomeworkInstance.due_at.desc(), HomeworkInstance.id.desc()))
    alerts = session.scalars(sa.select(SafetyAlert).where(
        SafetyAlert.participant_id == participant.id, SafetyAlert.acknowledged_at.is_(None))
        .order_by(SafetyAlert.created_at.desc())).all()
    return ClientView(participant, study, [homework_for(principal, study, row) for row in rows], list(alerts),
                      template_choices(study.definition, participant),
                      participant.external_id if sees_external_ids(principal) else None)


def template_choices(definition: Mapping[str, Any], participant: Participant) -> list[tuple[str, str]]:
    locale = assignment.client_locale(definition, participant)
    out = []
    for template in definition["homework"]["templates"]:
        texts = assignment.original_texts(definition, template["key"], locale)
        out.append((template["key"], texts["title"]))
    return out + [("adhoc", "Ad hoc work (write your own)")]


@dataclass(frozen=True)
class HomeworkView:
    """A homework as the therapist reviews it: what the client read, answered and (maybe) self-reviewed."""

    instance: Any
    participant: Participant
    study: Study
    fields: list[dict[str, Any]]
    #: Texts the client read, minus any arm framing: the default wording with the tailoring.
    texts: dict[str, Any]
    review_fields: list[dict[str, Any]]
    #: Who recorded the therapist's review (display name or email), None when nobody has.
    therapist_reviewer: str | None = None


def homework_view(session: Session, principal: Principal, instance_id: int,
                  now: datetime | None = None) -> HomeworkView:
    instance = session.get(HomeworkInstance, instance_id)
    if instance is None:
        raise ServiceError(404, "no such homework")
    participant, study = load_client(session, principal, instance.participant_id)
    definition = study.definition
    try:
        texts = assignment.original_texts(definition, instance.template_key,
                                          assignment.client_locale(definition, participant))
        fields = template_spec(definition, instance.template_key)["fields"]
    except ServiceError:  # an amendment removed the template: show the answers by their keys
        fields = [{"key": key} for key in instance.submission or {}]
        texts = {"title": instance.template_key, "intro": "",
                 "fields": {f["key"]: {"label": f["key"], "help": None} for f in fields}}
    if instance.tailoring is not None:
        texts = apply_tailoring(texts, instance.tailoring.tailored)
    reviewer = (session.get(User, instance.therapist_reviewed_by)
                if instance.therapist_reviewed_by is not None else None)
    return HomeworkView(homework_for(principal, study, instance), participant, study, fields, texts,
                        review_fields(THERAPIST_REVIEW_SCALE),
                        (reviewer.display_name or reviewer.email) if reviewer is not None else None)


#: Display names of the instruments the trajectory plots (others use their key).
INSTRUMENT_NAMES = {"phq9": "PHQ-9", "gad7": "GAD-7"}


@dataclass(frozen=True)
class Score:
    instrument: str
    timepoint: str
    total: float | None
    band: str | None
    submitted_at: datetime


@dataclass(frozen=True)
class Trajectory:
    participant: Participant
    study: Study
    scores: list[Score]
    weeks: list[Week]


def trajectory(session: Session, principal: Principal, participant_id: int,
               now: datetime | None = None) -> Trajectory:
    """Questionnaire scores over time and homework engagement per week (two queries)."""
    now = now or utcnow()
    participant, study = load_client(session, principal, participant_id)
    responses = session.execute(
        sa.select(QuestionnaireResponse.instrument_key, QuestionnaireResponse.timepoint_key,
                  QuestionnaireResponse.total, QuestionnaireResponse.band, QuestionnaireResponse.submitted_at)
        .where(QuestionnaireResponse.participant_id == participant.id)
        .order_by(QuestionnaireResponse.submitted_at))
    scores = [Score(INSTRUMENT_NAMES.get(r[0], r[0]), r[1], r[2], r[3], r[4]) for r in responses]
    rows = session.execute(sa.select(HomeworkInstance.due_at, HomeworkInstance.submitted_at,
                                     HomeworkInstance.active_seconds)
                           .where(HomeworkInstance.participant_id == participant.id)).all()
    return Trajectory(participant, study, scores, weekly_engagement(participant.enrolled_at, rows, now))
