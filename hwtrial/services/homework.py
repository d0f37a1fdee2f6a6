"""Homework instances: generation from the schedule, lifecycle, expiry, therapist assignment and review.

The pure cores decide times (:mod:`hwtrial.scheduling`) and validity (:mod:`hwtrial.homework`);
this module stores their answers. Lifecycle per instance, each step with its own timestamp:
scheduled → delivered → opened → started → submitted, or expired. Expiry is computed lazily
from ``now`` wherever an instance is read (:func:`refresh_state`) and in bulk by the periodic
``hwtrial homework expire`` command (:func:`expire_due`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..auth.principal import Principal
from ..errors import ServiceError
from ..homework import derive_metrics, validate_submission
from ..homework.tailoring import ADHOC_TEMPLATE, adhoc_template
from ..models import Event, HomeworkInstance, Participant, Study, utcnow
from ..scheduling import plan_instances
from . import audit

#: States in which a scheduled instance may still be moved by a regenerated plan.
MOVABLE = ("scheduled", "delivered")
#: States after which nothing changes any more.
FINAL = ("submitted", "expired")
#: Who reviewed a homework (a research question in its own right).
REVIEWER_ROLES = ("client", "therapist")
#: The therapist's usefulness rating, whatever the client's arm: the client's self-review
#: scale is an arm feature, so a range taken from it would refuse a value in one arm and take
#: it in another, telling a blinded therapist the arm (the review page shows 0-10 to all).
THERAPIST_REVIEW_SCALE = {"min": 0, "max": 10}
#: Lifecycle order: an instance only ever moves forward.
ORDER = {"scheduled": 0, "delivered": 1, "opened": 2, "started": 3, "submitted": 4, "expired": 4}


def definition_data(definition: Any) -> dict[str, Any]:
    """The plain dict of a :class:`StudyDefinition`, a :class:`Study` or an already plain dict."""
    if isinstance(definition, Study):
        return definition.definition
    return definition.data if hasattr(definition, "data") else definition


def template_spec(definition: Mapping[str, Any], key: str) -> dict[str, Any]:
    for template in definition["homework"]["templates"]:
        if template["key"] == key:
            return template
    if key == ADHOC_TEMPLATE:  # therapist-written work (texts in its HomeworkTailoring row)
        return adhoc_template(definition.get("default_locale") or "en")
    raise ServiceError(422, f"no homework template {key!r}", {"template": [f"unknown template {key!r}"]})


def arm_features(definition: Mapping[str, Any], participant: Participant) -> dict[str, Any]:
    """Features of the participant's arm (all off when not allocated)."""
    return features_of(definition, participant.allocation.arm_key if participant.allocation else None)


def features_of(definition: Mapping[str, Any], arm_key: str | None) -> dict[str, Any]:
    """Features of arm ``arm_key`` (all off for None or an unknown arm)."""
    for arm in definition["arms"]:
        if arm["key"] == arm_key:
            return arm["features"]
    return {"framing": "default", "self_review": {"enabled": False}}


def generate_instances(session: Session, participant: Participant, definition: Any,
                       now: datetime, *, new_participant: bool = False) -> dict[str, int]:
    """Create or update the participant's scheduled instances; idempotent by ``slot_key``.

    New slots are added (except those already expired at ``now``: nobody can do them),
    slots not yet opened get the new times and template, opened/started/submitted/expired
    ones are never touched. Withdrawn participants get nothing. Returns counts
    ``{"created", "updated", "kept"}``. ``new_participant=True`` (the participant was
    inserted in this transaction) skips the look-up of existing slots: there are none.
    """
    counts = {"created": 0, "updated": 0, "kept": 0}
    if participant.status != "active":
        return counts
    data = definition_data(definition)
    planned = plan_instances(data["homework"]["schedule"], participant.enrolled_at, participant.timezone)
    existing = {} if new_participant else {row.slot_key: row for row in session.scalars(
        sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == participant.id))}
    new_rows = []
    for plan in planned:
        times = {"template_key": plan.template, "open_at": plan.open_at,
                 "scheduled_at": plan.scheduled_at, "due_at": plan.due_at, "expire_at": plan.expire_at}
        row = existing.get(plan.slot_key)
        if row is None:
            if plan.expire_at > now:
                new_rows.append({"study_id": participant.study_id, "participant_id": participant.id,
                                 "slot_key": plan.slot_key, "origin": "schedule", "state": "scheduled",
                                 "late": False, **times})
        elif row.state in MOVABLE and any(getattr(row, k) != v for k, v in times.items()):
            for key, value in times.items():
                setattr(row, key, value)
            counts["updated"] += 1
        else:
            counts["kept"] += 1
    session.flush()
    _insert_new(session, new_rows)
    counts["created"] = len(new_rows)
    return counts


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    # A Core executemany of plain dicts, not ORM objects: nothing needs the new ids, and the
    # ORM's multi-row INSERT ... RETURNING is a long statement the driver re-parses on every
    # enrolment (its query cache skips texts over 4 KB). This one is short and prepared once.
    if rows:
        session.execute(sa.insert(HomeworkInstance.__table__), rows)


def regenerate_for_study(session: Session, study: Study, now: datetime | None = None) -> dict[str, int]:
    """Re-plan every active participant after an amendment (see :func:`generate_instances`)."""
    now = now or utcnow()
    totals = {"created": 0, "updated": 0, "kept": 0}
    participants = session.scalars(sa.select(Participant).where(
        Participant.study_id == study.id, Participant.status == "active"))
    for participant in participants:
        for key, value in generate_instances(session, participant, study.definition, now).items():
            totals[key] += value
    return totals


def refresh_state(instance: HomeworkInstance, now: datetime) -> str:
    """Lazy expiry: an unsubmitted instance past ``expire_at`` becomes expired."""
    if instance.state not in FINAL and now >= instance.expire_at:
        instance.state, instance.expired_at = "expired", instance.expire_at
    return instance.state


def advance(instance: HomeworkInstance, state: str, now: datetime) -> None:
    """Move forward to ``state`` (never back), stamping every step passed on the way."""
    if ORDER[state] <= ORDER[instance.state]:
        return
    for step in ("delivered", "opened", "started", "submitted"):
        if ORDER[step] <= ORDER[state] and getattr(instance, f"{step}_at") is None:
            setattr(instance, f"{step}_at", now)
    instance.state = state


def expire_due(session: Session, now: datetime) -> int:
    """Mark every unsubmitted instance past its expiry as expired; returns how many (periodic)."""
    result = session.execute(
        sa.update(HomeworkInstance)
        .where(HomeworkInstance.state.not_in(FINAL), HomeworkInstance.expire_at <= now)
        .values(state="expired", expired_at=HomeworkInstance.expire_at)
        .execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount or 0


def instance_events(session: Session, instance: HomeworkInstance) -> list[dict[str, Any]]:
    rows = session.execute(sa.select(Event.client_event_id, Event.type, Event.client_time,
                                     Event.server_time, Event.payload)
                           .where(Event.instance_id == instance.id))
    return [{"id": r.client_event_id, "type": r.type, "client_time": r.client_time,
             "server_time": r.server_time, "payload": r.payload} for r in rows]


def recompute_metrics(session: Session, instance: HomeworkInstance,
                      definition: Mapping[str, Any]) -> dict[str, Any]:
    """Derive and store the instance's engagement metrics from its events and answers."""
    fields = template_spec(definition, instance.template_key)["fields"]
    metrics = derive_metrics(instance_events(session, instance), instance.submission, instance.self_review,
                             instance.delivered_at, fields=fields)
    instance.set_metrics(metrics.to_dict())
    session.flush()
    return instance.metrics


def recompute_study_metrics(session: Session, study: Study) -> int:
    """Recompute the metrics of every submitted instance of ``study`` (CLI)."""
    rows = session.scalars(sa.select(HomeworkInstance).where(
        HomeworkInstance.study_id == study.id, HomeworkInstance.state == "submitted"))
    count = 0
    for instance in rows:
        recompute_metrics(session, instance, study.definition)
        count += 1
    return count


def instance_participant(session: Session, instance: HomeworkInstance) -> Participant:
    return session.get(Participant, instance.participant_id)


# --- therapists -------------------------------------------------------------------------------

def client_of(session: Session, principal: Principal, study: Study, participant_id: int) -> Participant:
    """The participant if the caller may care for them: a therapist only for their own clients."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.study_id != study.id:
        raise ServiceError(404, "no such participant in this study")
    if principal.role == "therapist" and participant.therapist_id != principal.user.id:
        raise ServiceError(404, "no such participant in this study")  # do not reveal others' clients
    return participant


def list_homework(session: Session, principal: Principal, study: Study,
                  participant_id: int | None = None, *, offset: int = 0,
                  limit: int | None = None) -> list[HomeworkInstance]:
    """Instances the caller may see: a therapist's own clients', or everyone's for coordinators.

    ``offset`` and ``limit`` take one page of them (the study-wide list is paged: a study of
    10,000 participants has hundreds of thousands of instances).
    """
    query = _homework_query(session, principal, study, participant_id)
    return list(session.scalars(query.options(selectinload(HomeworkInstance.tailoring))
                                .order_by(HomeworkInstance.participant_id, HomeworkInstance.scheduled_at,
                                          HomeworkInstance.id)
                                .offset(offset).limit(limit)))


def count_homework(session: Session, principal: Principal, study: Study) -> int:
    """How many instances :func:`list_homework` would list without a page."""
    query = _homework_query(session, principal, study, None)
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def _homework_query(session: Session, principal: Principal, study: Study,
                    participant_id: int | None) -> sa.Select:
    query = sa.select(HomeworkInstance).where(HomeworkInstance.study_id == study.id)
    if participant_id is not None:
        client_of(session, principal, study, participant_id)
        query = query.where(HomeworkInstance.participant_id == participant_id)
    if principal.role == "therapist":
        query = query.join(Participant, Participant.id == HomeworkInstance.participant_id).where(
            Participant.therapist_id == principal.user.id)
    return query


def review_fields(scale: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Field specs of a review: free reflection and a usefulness rating on ``scale``."""
    return [{"key": "reflection", "type": "longtext", "required": False, "max_length": 5000},
            {"key": "usefulness", "type": "scale", "required": True, "min": scale["min"], "max": scale["max"]}]


def review(session: Session, principal: Principal, study: Study, instance_id: int, *,
           reviewer_role: str | None, answers: Mapping[str, Any], now: datetime | None = None) -> HomeworkInstance:
    """Record the therapist's review of a submitted instance: who led it (``therapist``, or
    ``client`` when the client reviewed it with the therapist), who recorded it and when.

    Kept apart from the client's own self-review (``self_review``), which it never changes:
    client- vs therapist-led review is a research question, so both are stored. Recording
    again replaces the earlier therapist review (audited with the previous author and time).
    """
    now = now or utcnow()
    instance = session.get(HomeworkInstance, instance_id)
    if instance is None or instance.study_id != study.id:
        raise ServiceError(404, "no such homework")
    client_of(session, principal, study, instance.participant_id)
    if reviewer_role not in REVIEWER_ROLES:
        raise ServiceError(422, "invalid reviewer_role", {"reviewer_role": ["must be client or therapist"]})
    if instance.state != "submitted":
        raise ServiceError(409, "only submitted homework can be reviewed", {"state": [instance.state]})
    clean, errors = validate_submission(review_fields(THERAPIST_REVIEW_SCALE), answers)
    if errors:
        raise ServiceError(422, "invalid review", errors)
    before = ({"led": instance.therapist_review_led, "by": instance.therapist_reviewed_by,
               "at": instance.therapist_reviewed_at.isoformat()}
              if instance.therapist_reviewed_at is not None else None)
    instance.therapist_review, instance.therapist_review_led = clean, reviewer_role
    instance.therapist_reviewed_by, instance.therapist_reviewed_at = principal.user.id, now
    audit.record(session, actor=principal.actor, action="homework.review", target=f"homework:{instance.id}",
                 study_key=study.key, before=before, after={"reviewer_role": reviewer_role})
    return instance
