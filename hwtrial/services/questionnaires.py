"""Questionnaires: what is due when, scoring and storing answers, safety alerts.

Scoring is :func:`hwtrial.questionnaires.score`; item keys follow that core (``phq9_1`` …,
``gad7_1`` …). A study definition whose builtin instrument still spells items ``q1`` … is
mapped onto the core's keys by position (:func:`scoring_instrument`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import OutboxMessage, Participant, QuestionnaireResponse, SafetyAlert, Study, utcnow
from ..questionnaires import BUILTINS, score
from ..scheduling import timepoint_windows
from . import audit
from .participant_guard import require_writable


@dataclass(frozen=True)
class DueQuestionnaire:
    """One instrument to answer at one timepoint."""

    timepoint: str
    instrument: str
    closes_at: datetime


def scoring_instrument(instrument: Mapping[str, Any]) -> dict[str, Any]:
    """The study's instrument with item keys (and the safety item) in the scoring core's spelling."""
    inst = copy.deepcopy(dict(instrument))
    core = BUILTINS.get(inst.get("builtin") or "")
    if core is None:
        return inst
    core_keys = [item["key"] for item in core["items"]]
    items = inst.get("items") or []
    if len(items) != len(core_keys):
        return inst
    renamed = {item["key"]: key for item, key in zip(items, core_keys, strict=True)}
    for item, key in zip(items, core_keys, strict=True):
        item["key"] = key
    rules = inst.get("safety")
    for rule in [rules] if isinstance(rules, Mapping) else list(rules or []):
        rule["item"] = renamed.get(rule.get("item"), rule.get("item"))
    return inst


def instrument(definition: Mapping[str, Any], key: str) -> dict[str, Any]:
    for inst in definition["questionnaires"]["instruments"]:
        if inst["key"] == key:
            return scoring_instrument(inst)
    raise ServiceError(404, f"no questionnaire {key!r}")


def due(session: Session, participant: Participant, definition: Mapping[str, Any],
        now: datetime) -> list[DueQuestionnaire]:
    """Instruments whose timepoint window contains ``now`` and that are not answered yet."""
    timepoints = (definition.get("questionnaires") or {}).get("timepoints") or []
    if participant.status != "active" or not timepoints:
        return []
    windows = {w.key: w for w in timepoint_windows(timepoints, participant.enrolled_at, participant.timezone)}
    answered = set(session.execute(sa.select(QuestionnaireResponse.timepoint_key,
                                             QuestionnaireResponse.instrument_key)
                                   .where(QuestionnaireResponse.participant_id == participant.id)).all())
    out = []
    for tp in timepoints:
        window = windows[tp["key"]]
        if window.opens_at <= now < window.closes_at:
            out.extend(DueQuestionnaire(tp["key"], key, window.closes_at)
                       for key in tp["instruments"] if (tp["key"], key) not in answered)
    return out


def parse_answers(inst: Mapping[str, Any], form: Mapping[str, Any]) -> tuple[dict, dict]:
    """Form strings → ``{item: int | None}``; errors name each item. Blank means skipped."""
    answers: dict[str, int | None] = {}
    errors: dict[str, list[str]] = {}
    for item in inst["items"]:
        raw = form.get(item["key"])
        raw = raw[0] if isinstance(raw, list) and raw else raw
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            answers[item["key"]] = None
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = None
        if value is None or not item["min"] <= value <= item["max"]:
            errors[item["key"]] = [f"choose one of the answers ({item['min']}-{item['max']})"]
        answers[item["key"]] = value
    return answers, errors


def submit(session: Session, participant: Participant, study: Study, timepoint: str, key: str,
           form: Mapping[str, Any], now: datetime) -> QuestionnaireResponse:
    """Score and store one questionnaire; a safety item at threshold raises an alert."""
    definition = study.definition
    require_writable(session, participant, definition)
    tps = {tp["key"]: tp for tp in definition["questionnaires"]["timepoints"]}
    if timepoint not in tps or key not in tps[timepoint]["instruments"]:
        raise ServiceError(404, "no such questionnaire")
    inst = instrument(definition, key)
    answers, errors = parse_answers(inst, form)
    if errors:
        raise ServiceError(422, "some answers are not valid", errors)
    result = score(inst, answers)
    if not result.valid:
        missing = {i["key"]: ["required"] for i in inst["items"] if answers[i["key"]] is None}
        raise ServiceError(422, "too many questions left unanswered", missing)
    existing = session.scalar(sa.select(QuestionnaireResponse).where(
        QuestionnaireResponse.participant_id == participant.id,
        QuestionnaireResponse.instrument_key == key, QuestionnaireResponse.timepoint_key == timepoint))
    if existing is not None:
        raise ServiceError(409, "this questionnaire was already answered")
    window = next(w for w in timepoint_windows(list(tps.values()), participant.enrolled_at,
                                               participant.timezone) if w.key == timepoint)
    response = QuestionnaireResponse(
        study_id=study.id, participant_id=participant.id, instrument_key=key, timepoint_key=timepoint,
        answers=answers, total=result.total, band=result.band, prorated=result.prorated,
        n_missing=result.n_missing, in_window=window.opens_at <= now < window.closes_at, submitted_at=now)
    session.add(response)
    session.flush()
    for item in result.safety_alerts:
        raise_alert(session, study, participant, response, f"{item} = {answers[item]}", now)
    return response


def raise_alert(session: Session, study: Study, participant: Participant,
                response: QuestionnaireResponse, reason: str, now: datetime) -> SafetyAlert:
    """Store the alert and queue one email to the coordinators (sent after commit by the outbox)."""
    alert = SafetyAlert(study_id=study.id, participant_id=participant.id, response_id=response.id,
                        reason=reason, created_at=now)
    session.add(alert)
    session.flush()
    session.add(OutboxMessage(
        dedupe_key=f"safety-alert:{study.key}:{response.id}:{reason.split(' ')[0]}", channel="email",
        due_at=now, study_id=study.id, participant_id=participant.id, payload={"to_role": "coordinator", "study_key": study.key, "kind": "safety_alert",
                             "alert_id": alert.id, "participant_id": participant.id, "reason": reason}))
    audit.record(session, actor=f"participant:{participant.id}", action="safety_alert.raise",
                 target=f"safety_alert:{alert.id}", study_key=study.key, after={"reason": reason})
    return alert


def list_alerts(session: Session, study: Study, *, open_only: bool = False) -> list[SafetyAlert]:
    query = sa.select(SafetyAlert).where(SafetyAlert.study_id == study.id)
    if open_only:
        query = query.where(SafetyAlert.acknowledged_at.is_(None))
    return list(session.scalars(query.order_by(SafetyAlert.created_at, SafetyAlert.id)))


def acknowledge(session: Session, principal: Principal, study: Study, alert_id: int,
                note: str = "") -> SafetyAlert:
    """A coordinator confirms they have acted on an alert (idempotent, audited once)."""
    alert = session.get(SafetyAlert, alert_id)
    if alert is None or alert.study_id != study.id:
        raise ServiceError(404, "no such safety alert")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = utcnow(), principal.user.id
        audit.record(session, actor=principal.actor, action="safety_alert.acknowledge",
                     target=f"safety_alert:{alert.id}", study_key=study.key, reason=note or None)
    return alert
