"""Engagement-event ingest: idempotent batches from participant pages and host platforms.

Each event carries a client-generated ``id``. The batch is written with ONE multi-row
``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL) /
``INSERT OR IGNORE … VALUES (…), (…) … RETURNING`` (SQLite); the ids it did not insert are then compared in ONE ``SELECT`` of their stored body
hashes (skipped when every id was new): a replayed id whose body hash matches
answers as the first time did, a reused id with another body refuses the whole batch (422
naming each id). Nothing is queried per event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..homework.metrics import EVENT_TYPES
from ..models import Event, FeatureExposure, HomeworkInstance, Participant, Study

#: Largest batch accepted; a bigger one answers 413.
MAX_BATCH = 1000
MAX_ID_LENGTH = 64
#: Largest payload, serialised as compact UTF-8 JSON (events are counted, not archives).
MAX_PAYLOAD_BYTES = 8 * 1024
#: ``client_time`` must lie in [EARLIEST_CLIENT_TIME, now + CLIENT_TIME_AHEAD]: a clock in
#: year 1 or 9999 is wrong, and would skew every time-based metric computed from it.
EARLIEST_CLIENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
CLIENT_TIME_AHEAD = timedelta(days=1)
#: Participant and homework ids are ``integer`` columns.
MAX_REF_ID = 2**31 - 1
_EVENT_KEYS = {"id", "participant", "instance", "type", "client_time", "payload"}


def body_sha256(event: Mapping[str, Any]) -> str:
    """Hash of an event's canonical body (everything the client sent, the ``id`` included)."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _parse_time(value: Any, now: datetime | None = None) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("must be an ISO 8601 time with a UTC offset")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.utcoffset() is None:
        raise ValueError("must include a UTC offset (e.g. 2026-01-31T18:02:00Z)")
    if now is not None:
        try:
            plausible = EARLIEST_CLIENT_TIME <= parsed <= now + CLIENT_TIME_AHEAD
        except OverflowError:  # year 1 or 9999 with an offset
            plausible = False
        if not plausible:
            raise ValueError(f"must lie between {EARLIEST_CLIENT_TIME.date()} and one day from now")
    return parsed


def _payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, Mapping):
        return "must be an object"
    try:
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    except (RecursionError, ValueError):
        return "cannot be stored"
    return f"must be at most {MAX_PAYLOAD_BYTES} bytes as JSON" if size > MAX_PAYLOAD_BYTES else None


def _check_event(index: int, event: Any, errors: dict[str, list[str]], now: datetime) -> None:
    where = f"events[{index}]"
    if not isinstance(event, Mapping):
        errors[where] = ["must be an object"]
        return
    for key in sorted(set(event) - _EVENT_KEYS):
        errors[f"{where}.{key}"] = ["unknown field"]
    eid = event.get("id")
    if not isinstance(eid, str) or not 0 < len(eid) <= MAX_ID_LENGTH:
        errors[f"{where}.id"] = [f"required: a string of 1-{MAX_ID_LENGTH} characters"]
    if event.get("type") not in EVENT_TYPES:
        errors[f"{where}.type"] = ["must be one of: " + ", ".join(sorted(EVENT_TYPES))]
    for key in ("participant", "instance"):
        value = event.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= MAX_REF_ID):
            errors[f"{where}.{key}"] = ["must be an integer id"]
    try:
        _parse_time(event.get("client_time"), now)
    except ValueError as exc:
        errors[f"{where}.client_time"] = [str(exc).split(": ", 1)[-1]]
    payload = event.get("payload")
    problem = None if payload is None else _payload_problem(payload)
    if problem:
        errors[f"{where}.payload"] = [problem]


def _owner_ids(principal: Principal, events: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Participant of each event: a participant posts only their own (and may omit the id)."""
    if principal.role != "participant":
        return [e.get("participant") for e in events]
    own = principal.participant.id
    wrong = {f"events[{i}].participant": ["you can only post your own events"]
             for i, e in enumerate(events) if e.get("participant") not in (None, own)}
    if wrong:
        raise ServiceError(403, "events of another participant", wrong)
    return [own] * len(events)


def _check_references(session: Session, study: Study, events, owners) -> None:
    """Every participant belongs to the study, every instance to its event's participant."""
    errors: dict[str, list[str]] = {}
    for i, owner in enumerate(owners):
        if owner is None:
            errors[f"events[{i}].participant"] = ["required"]
    wanted = {o for o in owners if o is not None}
    status = dict(session.execute(sa.select(Participant.id, Participant.status).where(
        Participant.study_id == study.id, Participant.id.in_(wanted))).all()) if wanted else {}
    known = set(status)
    instance_ids = {e["instance"] for e in events if e.get("instance") is not None}
    owner_of = dict(session.execute(sa.select(HomeworkInstance.id, HomeworkInstance.participant_id).where(
        HomeworkInstance.study_id == study.id, HomeworkInstance.id.in_(instance_ids))).all()) \
        if instance_ids else {}
    for i, (event, owner) in enumerate(zip(events, owners, strict=True)):
        if owner is not None and owner not in known:
            errors[f"events[{i}].participant"] = ["no such participant in this study"]
        instance = event.get("instance")
        if instance is not None and owner_of.get(instance) != owner:
            errors[f"events[{i}].instance"] = ["no such homework for this participant"]
    if errors:
        raise ServiceError(422, "unknown participant or homework", errors)
    # Nothing more is stored for someone who has left the study (the host should stop sending).
    left = {f"events[{i}].participant": ["withdrawn from the study"]
            for i, owner in enumerate(owners) if status.get(owner) != "active"}
    if left:
        raise ServiceError(409, "events of withdrawn participants", left)


#: PostgreSQL: the batch as one multi-row INSERT fed by ``unnest`` of one array per column.
#: Nine bound arrays instead of 9 x 500 placeholders: the driver parses a short statement
#: (psycopg re-parses a long, uncacheable VALUES list on every call, which dominated the cost).
_PG_INSERT = sa.text(
    "INSERT INTO hwtrial_event (study_id, participant_id, instance_id, client_event_id, body_sha256,"
    " type, client_time, server_time, payload)"
    " SELECT * FROM unnest(CAST(:study_id AS integer[]), CAST(:participant_id AS integer[]),"
    " CAST(:instance_id AS integer[]), CAST(:client_event_id AS varchar[]), CAST(:body_sha256 AS varchar[]),"
    " CAST(:type AS varchar[]), CAST(:client_time AS timestamptz[]), CAST(:server_time AS timestamptz[]),"
    " CAST(:payload AS text[]))"
    " ON CONFLICT (study_id, client_event_id) DO NOTHING RETURNING client_event_id")
#: PostgreSQL: stored hashes of the given ids, as a join on ``unnest`` so that both columns of
#: the (study_id, client_event_id) unique index drive the lookup even before the table has
#: statistics (``study_id = … AND client_event_id IN (…)`` then filtered every row of the study).
_PG_STORED = sa.text(
    "SELECT e.client_event_id, e.body_sha256 FROM unnest(CAST(:ids AS varchar[])) AS t(id)"
    " JOIN hwtrial_event e ON e.study_id = :study_id AND e.client_event_id = t.id")
_COLUMNS = ("study_id", "participant_id", "instance_id", "client_event_id", "body_sha256", "type",
            "client_time", "server_time", "payload")


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the batch in one multi-row statement, skipping stored ids; returns the ids inserted."""
    if session.get_bind().dialect.name == "postgresql":
        json_type = Event.__table__.c.payload.type  # the stored encoding, exactly as the ORM writes it
        columns = {name: [r[name] for r in rows] for name in _COLUMNS}
        columns["payload"] = [json_type.process_bind_param(p, None) for p in columns["payload"]]
        return set(session.execute(_PG_INSERT, columns).scalars())
    # SQLite: SQLAlchemy's "insertmanyvalues" sends one INSERT OR IGNORE … VALUES (…), (…) … RETURNING.
    table = Event.__table__
    statement = sa.insert(table).prefix_with("OR IGNORE").returning(table.c.client_event_id)
    return set(session.execute(statement, rows).scalars())


def _conflicts(session: Session, study: Study, rows: list[dict[str, Any]],
               inserted: set[str]) -> dict[str, list[str]]:
    """Reused ids whose stored body differs; one SELECT, and only of the ids not just inserted."""
    message = "id {!r} was already used for a different event"
    first: dict[str, str] = {}
    errors = {f"events[{i}].id": [message.format(r["client_event_id"])] for i, r in enumerate(rows)
              if first.setdefault(r["client_event_id"], r["body_sha256"]) != r["body_sha256"]}
    others = [r for r in rows if r["client_event_id"] not in inserted]
    if errors or not others:
        return errors
    ids = sorted({r["client_event_id"] for r in others})
    if session.get_bind().dialect.name == "postgresql":
        stored = dict(session.execute(_PG_STORED, {"study_id": study.id, "ids": ids}).all())
    else:
        stored = dict(session.execute(sa.select(Event.client_event_id, Event.body_sha256).where(
            Event.study_id == study.id, Event.client_event_id.in_(ids))).all())
    return {f"events[{i}].id": [message.format(r["client_event_id"])]
            for i, r in enumerate(rows) if stored.get(r["client_event_id"], r["body_sha256"]) != r["body_sha256"]}


def ingest(session: Session, principal: Principal, study: Study, events: Sequence[Any],
           now: datetime) -> dict[str, Any]:
    """Store a batch of events; a replay of the same batch answers the same.

    Returns ``{"accepted": n, "ids": [...]}``. Raises 413 for more than :data:`MAX_BATCH`
    events, 422 naming each bad field, unknown reference or reused id, 403 when a participant
    posts for someone else. Out-of-order and late batches are accepted as they come.
    """
    if principal.role == "participant" and principal.participant.study_id != study.id:
        raise ServiceError(404, f"no study {study.key!r}")  # participants see only their own study
    if len(events) > MAX_BATCH:
        raise ServiceError(413, f"at most {MAX_BATCH} events per batch", {"events": [f"{len(events)} sent"]})
    errors: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        _check_event(index, event, errors, now)
    if errors:
        raise ServiceError(422, "invalid events", errors)
    if principal.role == "participant":
        from .participant_flow import definition_of
        from .participant_guard import require_writable

        require_writable(session, principal.participant, definition_of(session, study))
    owners = _owner_ids(principal, events)
    _check_references(session, study, events, owners)
    rows = [_row(study, event, owner, now) for event, owner in zip(events, owners, strict=True)]
    if rows:
        inserted = _insert(session, rows)
        conflicts = _conflicts(session, study, rows, inserted)
        if conflicts:
            raise ServiceError(422, "event ids reused with a different body", conflicts)
        _record_exposures(session, rows)
    return {"accepted": len(rows), "ids": [r["client_event_id"] for r in rows]}


def _row(study: Study, event: Mapping[str, Any], owner: int, now: datetime) -> dict[str, Any]:
    # The hash covers the body as the participant is known to the server, so an omitted and
    # an explicit own participant id are the same event.
    body = {**event, "participant": owner}
    return {"study_id": study.id, "participant_id": owner, "instance_id": event.get("instance"),
            "client_event_id": event["id"], "body_sha256": body_sha256(body), "type": event["type"],
            "client_time": _parse_time(event["client_time"]), "server_time": now,
            "payload": event.get("payload")}


def _record_exposures(session: Session, rows: list[dict[str, Any]]) -> None:
    """``feature_exposed`` events with ``payload.feature`` note the first exposure (web channel)."""
    seen = {(r["participant_id"], str(r["payload"]["feature"])[:80]): r["client_time"] for r in rows
            if r["type"] == "feature_exposed" and isinstance(r["payload"], Mapping)
            and r["payload"].get("feature")}
    if not seen:
        return
    values = [{"participant_id": p, "feature": f, "channel": "web", "first_exposed_at": t}
              for (p, f), t in seen.items()]
    if session.get_bind().dialect.name == "postgresql":
        statement = pg_insert(FeatureExposure).on_conflict_do_nothing(
            index_elements=["participant_id", "feature"])
    else:
        statement = sa.insert(FeatureExposure).prefix_with("OR IGNORE")
    session.execute(statement, values)
