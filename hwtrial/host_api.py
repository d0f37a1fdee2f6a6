"""The host app's Python API: the use cases of the REST API, called in-process.

``HWTrial.enrol``, ``record_events``, ``withdraw`` and ``features_for`` validate with the same
schemas and call the same service functions as the REST routes, and answer the same shapes.
Each runs in a session of hwtrial's own on hwtrial's engine and commits it: the host's
``db.session`` and its pending work are neither committed nor rolled back. Refusals raise
:class:`~hwtrial.errors.ServiceError` (``status``, ``message``, ``errors`` as in the JSON error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from .auth.principal import Principal
from .errors import ServiceError
from .extensions import state

#: Who the host app's own code acts as: a coordinator that may see arms, audited as host-app.
HOST_APP = Principal(role="coordinator", via="python", host_app=True)


@contextmanager
def own_session():
    """A session of hwtrial's own (committed by the caller's use case, closed after)."""
    with Session(bind=state().db.engine) as session:  # closing rolls back what was not committed
        yield session


def _load(schema: ma.Schema, data: Mapping[str, Any]) -> dict:
    try:
        return schema.load(data)
    except ma.ValidationError as error:
        raise ServiceError(422, "the input is invalid", _flatten(error.messages)) from None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix or "_schema": [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]}


def _run(work: Callable[[Session], Any]) -> Any:
    with own_session() as session:
        result = work(session)
        session.commit()
        return result


def enrol(study_key: str, data: Mapping[str, Any]) -> dict:
    """``POST …/participants``: the enrolment answer (``id``, ``arm``, ``features``, ``link``, …)
    plus ``created`` (False for an idempotent replay)."""
    from .api.participants import EnrolInSchema
    from .services import enrolment
    from .services.studies import get_study

    body = _load(EnrolInSchema(), data)

    def work(session):
        study = get_study(session, HOST_APP, study_key)
        done = enrolment.enrol(session, HOST_APP, study, body)
        view = enrolment.participant_view(HOST_APP, study, done.participant, with_link=True)
        return {**view, "created": done.created}

    return _run(work)


def record_events(study_key: str, events: Sequence[Mapping[str, Any]]) -> dict:
    """``POST …/events``: ``{"accepted": n, "ids": [...]}``; replays answer as the first time."""
    from .models import utcnow
    from .services import events as service
    from .services.studies import get_study

    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise ServiceError(422, "the input is invalid", {"events": ["must be a list"]})
    return _run(lambda session: service.ingest(session, HOST_APP, get_study(session, HOST_APP, study_key),
                                               list(events), utcnow()))


def withdraw(study_key: str, participant: str | int, *, reason: str, data_use_withdrawn: bool = False) -> dict:
    """``POST …/participants/<id>/withdraw``; ``participant`` is the external id or hwtrial's id."""
    from .services import enrolment, withdrawal
    from .services.studies import get_study

    def work(session):
        study = get_study(session, HOST_APP, study_key)
        found = enrolment.participant_by_ref(session, study, participant)
        if found is None:
            raise ServiceError(404, f"no participant {participant!r} in study {study_key!r}")
        withdrawal.withdraw(session, HOST_APP.actor, study, found, reason=reason,
                            data_use_withdrawn=data_use_withdrawn)
        return enrolment.participant_view(HOST_APP, study, found)

    return _run(work)


def features_for(study_key: str, participant: str | int) -> dict:
    """``GET …/participants/<id>/features`` (the first exposure to each feature is recorded)."""
    from .services.features import features_by_ref

    return _run(lambda session: features_by_ref(session, study_key, participant))
