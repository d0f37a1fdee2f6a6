"""Object-level access, checked from the URL before any body is read ("load, authorise").

Every route that names a participant or a homework instance in its URL uses the variable
``participant_id`` or ``instance_id``; this check runs for all of them, so no view can forget
it. A participant may reach only their own data, a therapist only their own clients'; an id
outside the study in the URL, or outside the token's studies, is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import Session

from ..api.fields import ID_MAX, text_problem
from ..errors import ServiceError
from ..models import HomeworkInstance, Participant, Study
from .principal import Principal

#: Roles that see every participant of the studies they may touch.
STUDY_WIDE = {"admin", "coordinator", "statistician"}


def check_object_access(session: Session, principal: Principal, view_args: Mapping[str, Any]) -> None:
    check_url_values(view_args)
    study_key = view_args.get("study_key")
    if study_key is not None and not principal.may_touch_study(str(study_key)):
        raise ServiceError(404, f"no study {study_key!r}")
    participant = _participant_in_url(session, view_args)
    if participant is None:
        return
    if study_key is not None:
        key = session.scalar(sa.select(Study.key).where(Study.id == participant.study_id))
        if key != study_key:
            raise ServiceError(404, "no such participant in this study")
    if not may_see_participant(principal, participant):
        # The same answer as for an id that does not exist: nothing tells the two apart.
        raise ServiceError(404, "no such homework" if "instance_id" in view_args else "no such participant")
    # Keep the loaded rows alive for the request: the session's identity map holds them only
    # weakly, and the view would otherwise fetch them a second time.
    g.hwtrial_url_participant = participant


def check_url_values(view_args: Mapping[str, Any]) -> None:
    """404 for a URL naming what cannot exist: an id beyond the ``integer`` columns, or text
    the database cannot compare (NUL, lone surrogate); either would reach the driver as a 500."""
    for value in view_args.values():
        if (isinstance(value, int) and not 0 <= value <= ID_MAX) or (
                isinstance(value, str) and text_problem(value)):
            raise ServiceError(404, "not found")


def may_see_participant(principal: Principal, participant: Participant) -> bool:
    if principal.role in STUDY_WIDE:
        return True
    if principal.role == "therapist":
        return principal.user is not None and participant.therapist_id == principal.user.id
    if principal.role == "participant":
        return principal.participant is not None and principal.participant.id == participant.id
    return False


def _participant_in_url(session: Session, view_args: Mapping[str, Any]) -> Participant | None:
    if "instance_id" in view_args:
        instance = session.get(HomeworkInstance, _as_int(view_args["instance_id"]))
        if instance is None:
            raise ServiceError(404, "no such homework")
        g.hwtrial_url_instance = instance
        participant = session.get(Participant, instance.participant_id)
        if "participant_id" in view_args and _as_int(view_args["participant_id"]) != participant.id:
            raise ServiceError(404, "no such homework for this participant")
        return participant
    if "participant_id" in view_args:
        participant = session.get(Participant, _as_int(view_args["participant_id"]))
        if participant is None:
            raise ServiceError(404, "no such participant")
        return participant
    return None


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ServiceError(404, "not found") from None
