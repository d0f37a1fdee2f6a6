"""Therapist-assigned homework: from a study template or ad hoc, tailored for one client.

One function (:func:`assign_homework`) serves the API and the staff pages. The tailoring
is stored beside the instance (:class:`~hwtrial.models.HomeworkTailoring`) and overlaid on
the client's texts (:func:`tailored_texts`). The texts a therapist starts from are the
template's default wording in the client's language, never an arm's framing: therapists
are blinded, and a framed intro would tell them the arm.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..homework import resolve_texts
from ..homework.tailoring import ADHOC_TEMPLATE, Tailoring, apply_tailoring, tailor
from ..models import HomeworkInstance, HomeworkTailoring, Participant, Study, utcnow
from . import audit
from .homework import client_of, template_spec

#: How far in the past an opening time may lie (the form was filled in a minute ago).
PAST_TOLERANCE = timedelta(minutes=10)
#: How far ahead work may be set.
HORIZON = timedelta(days=366)
#: Time between due and expiry when none is given.
DEFAULT_GRACE = timedelta(hours=24)


def client_locale(definition: Mapping[str, Any], participant: Participant) -> str:
    """The client's stored locale when the study offers it, else the study default."""
    default = definition.get("default_locale") or "en"
    return participant.locale if participant.locale in (definition.get("locales") or [default]) else default


def original_texts(definition: Mapping[str, Any], template_key: str, locale: str) -> dict[str, Any]:
    """The texts tailoring starts from: title, intro and each field's label and help (default framing)."""
    template = template_spec(definition, template_key)
    texts = resolve_texts(template, locale, "default", definition.get("default_locale") or "en")
    return {"title": texts["title"], "intro": texts["intro"],
            "fields": {key: {"label": value["label"], "help": value["help"]}
                       for key, value in texts["fields"].items()}}


def _times(open_at: datetime | None, due_at: datetime | None, expire_at: datetime | None,
           now: datetime) -> tuple[datetime, datetime, dict[str, list[str]]]:
    # Only comparisons until a time is known to be near now: a form's time may be in year 1 or
    # 9999, where adding the grace period overflows (that was a 500).
    open_at = open_at or now
    errors: dict[str, list[str]] = {}
    if open_at < now - PAST_TOLERANCE:
        errors["open_at"] = ["must not be in the past"]
    elif open_at > now + HORIZON:
        errors["open_at"] = ["must be within a year"]
    if due_at is None:
        errors["due_at"] = ["required"]
    elif due_at <= now:
        errors["due_at"] = ["must be in the future"]
    elif due_at <= open_at:
        errors["due_at"] = ["must be after open_at"]
    elif due_at > now + HORIZON:
        errors["due_at"] = ["must be within a year"]
    if due_at is not None and "due_at" not in errors and expire_at is None:
        expire_at = due_at + DEFAULT_GRACE
    if due_at and expire_at and expire_at < due_at:
        errors["expire_at"] = ["must not be before due_at"]
    elif expire_at is not None and expire_at > now + 2 * HORIZON:
        errors["expire_at"] = ["must be within two years"]
    return open_at, expire_at, errors


def assign_homework(session: Session, principal: Principal, study: Study, participant_id: int, *,
                    template: str | None, due_at: datetime | None, open_at: datetime | None = None,
                    expire_at: datetime | None = None, tailoring: Mapping[str, Any] | None = None,
                    now: datetime | None = None) -> HomeworkInstance:
    """Set homework for one of the caller's clients; 422 naming each bad field, 409 if withdrawn."""
    now = now or utcnow()
    participant = client_of(session, principal, study, participant_id)  # 404 before anything else
    if participant.status != "active":
        raise ServiceError(409, "the participant has withdrawn", {"participant": ["has withdrawn"]})
    errors: dict[str, list[str]] = {} if template else {"template": ["required"]}
    open_at, expire_at, time_errors = _times(open_at, due_at, expire_at, now)
    errors.update(time_errors)
    result = None
    if template:
        definition = study.definition
        locale = client_locale(definition, participant)
        try:
            original = original_texts(definition, template, locale)
        except ServiceError as error:
            errors.update(error.errors)
        else:
            result = tailor(original, tailoring, adhoc=template == ADHOC_TEMPLATE)
            errors.update(result.errors)
    if errors:
        raise ServiceError(422, "the homework cannot be set as given", errors)
    instance = HomeworkInstance(
        study_id=study.id, participant_id=participant.id, template_key=template,
        slot_key=f"adhoc#{uuid.uuid4().hex}", origin="adhoc", assigned_by=principal.user.id,
        state="scheduled", open_at=open_at, scheduled_at=open_at, due_at=due_at, expire_at=expire_at)
    session.add(instance)
    session.flush()
    if result.changes or template == ADHOC_TEMPLATE:
        _store(session, principal, instance, locale, result, now)
    audit.record(session, actor=principal.actor, action="homework.assign", target=f"homework:{instance.id}",
                 study_key=study.key, after={"participant": participant.id, "template": template,
                                             "open_at": open_at.isoformat(), "due_at": due_at.isoformat(),
                                             "tailored": [c["key"] for c in result.changes]})
    return instance


def _store(session: Session, principal: Principal, instance: HomeworkInstance, locale: str,
           result: Tailoring, now: datetime) -> HomeworkTailoring:
    row = HomeworkTailoring(instance_id=instance.id, study_id=instance.study_id,
                            participant_id=instance.participant_id, template_key=instance.template_key,
                            locale=locale, tailored_by=principal.user.id, tailored_at=now,
                            original=result.original, tailored=result.tailored, changes=result.changes)
    session.add(row)
    session.flush()
    return row


def tailorings(session: Session, instance_ids: list[int]) -> dict[int, HomeworkTailoring]:
    """Instance id to its tailoring, for the instances that have one (one query)."""
    if not instance_ids:
        return {}
    rows = session.scalars(sa.select(HomeworkTailoring).where(HomeworkTailoring.instance_id.in_(instance_ids)))
    return {row.instance_id: row for row in rows}


def tailored_texts(session: Session, instance: HomeworkInstance, texts: Mapping[str, Any]) -> dict[str, Any]:
    """The client's texts for ``instance`` with the therapist's changes overlaid (participant pages)."""
    if instance.origin != "adhoc":  # only therapist-assigned work is ever tailored
        return dict(texts)
    row = tailorings(session, [instance.id]).get(instance.id)
    return apply_tailoring(texts, row.tailored if row else None)
