"""The participant's own path: consent → baseline questionnaires → home → task → self-review.

Every function takes the signed-in participant and only ever loads that participant's rows;
someone else's homework is "not found" (404), an expired one is "gone" (410).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..homework import pick_locale, resolve_texts, validate_submission
from ..homework.fields import text_limit
from ..models import Allocation, ConsentRecord, HomeworkInstance, Participant, Study, StudyVersion
from . import assignment, audit, homework, participant_home, participant_settings, questionnaires
from .participant_guard import require_writable

#: Definitions by (study id, version, seed): a version is immutable once participants exist
#: (enrolment needs an active study; amending an active study adds a version).
_DEFINITIONS: dict[tuple[int, int, str], dict[str, Any]] = {}


def study_of(session: Session, participant: Participant) -> Study:
    return session.get(Study, participant.study_id)


def definition_of(session: Session, study: Study) -> dict[str, Any]:
    """The study's current definition, parsed once per version and process (hot path of every page).

    Reading ``study.definition`` would load and parse every version on every request.
    """
    key = (study.id, study.current_version, study.allocation_seed)
    definition = _DEFINITIONS.get(key)
    if definition is None or study.status == "draft":  # a draft is edited in place
        if len(_DEFINITIONS) > 256:  # many test databases in one process: stay bounded
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[key] = session.scalar(sa.select(StudyVersion.definition).where(
            StudyVersion.study_id == study.id, StudyVersion.version == study.current_version))
    return definition


def locale_for(participant: Participant, definition: Mapping[str, Any], accept: Sequence[str]) -> str:
    """The participant's stored locale, then the browser's, then the study default."""
    default = definition.get("default_locale") or "en"
    return pick_locale(participant.locale, accept, definition.get("locales") or [default], default)


def browser_locale(definition: Mapping[str, Any], accept: Sequence[str]) -> str | None:
    """The study locale the browser asks for (``Accept-Language``), or None when none matches."""
    default = definition.get("default_locale") or "en"
    return pick_locale(None, accept, definition.get("locales") or [default], "") or None


def consent_text(definition: Mapping[str, Any], locale: str) -> str:
    texts = definition["consent"]["text"]
    return texts.get(locale) or texts[definition["default_locale"]]


def questionnaire_position(definition: Mapping[str, Any], timepoint: str, instrument: str) -> tuple[int, int]:
    """``(n, of)``: the instrument's place among its timepoint's ("1 of 2"); ``(1, 1)`` if unknown."""
    for tp in (definition.get("questionnaires") or {}).get("timepoints") or []:
        if tp["key"] == timepoint and instrument in tp["instruments"]:
            return tp["instruments"].index(instrument) + 1, len(tp["instruments"])
    return 1, 1


def has_consented(session: Session, participant: Participant, definition: Mapping[str, Any]) -> bool:
    if not definition.get("consent"):
        return True  # nothing to consent to (a definition without a consent section)
    version = definition["consent"]["version"]
    return session.scalar(sa.select(ConsentRecord.id).where(
        ConsentRecord.participant_id == participant.id, ConsentRecord.version == version)) is not None


@dataclass(frozen=True)
class PageContext:
    """What every participant page needs, read in one round trip (see :func:`page_context`)."""

    study: Study
    definition: dict[str, Any]
    consented: bool
    arm_key: str | None


def page_columns() -> tuple[Any, Any]:
    """Latest consent version and arm key, correlated to ``Participant`` in an enclosing query.

    The session cookie's look-up selects these beside the participant (see
    :func:`hwtrial.auth.load.principal_from_cookie`), so a page needs no query of its own.
    """
    latest_consent = (sa.select(ConsentRecord.version).where(ConsentRecord.participant_id == Participant.id)
                      .order_by(ConsentRecord.consented_at.desc(), ConsentRecord.id.desc()).limit(1)
                      .scalar_subquery())
    arm = sa.select(Allocation.arm_key).where(Allocation.participant_id == Participant.id).scalar_subquery()
    return latest_consent, arm


def page_context(session: Session, participant: Participant,
                 loaded: tuple[Study, str | None, str | None] | None = None) -> PageContext:
    """Study, consent to the current version and arm in ONE query (the pages' hot path).

    ``loaded`` is ``(study, latest consent version, arm key)`` when this request already
    read them (with :func:`page_columns`); then no query is made at all.
    """
    if loaded is None:
        latest_consent, arm = page_columns()
        loaded = session.execute(sa.select(Study, latest_consent, arm)
                                 .join_from(Participant, Study, Study.id == Participant.study_id)
                                 .where(Participant.id == participant.id)).one()
    study, consent_version, arm_key = loaded
    definition = definition_of(session, study)
    consent = definition.get("consent")
    consented = not consent or consent_version == str(consent["version"])
    return PageContext(study, definition, consented, arm_key)


def give_consent(session: Session, participant: Participant, locale: str, now: datetime,
                 browser_timezone: str | None = None) -> ConsentRecord:
    """Store consent to the current version, with the SHA-256 of the exact text shown.

    ``browser_timezone`` (sent with the form by participant.js) becomes the participant's
    time zone when enrolment set none, and their homework and reminders are re-planned.
    """
    study = study_of(session, participant)
    definition = definition_of(session, study)
    require_writable(session, participant, definition, consent=False)
    text = consent_text(definition, locale)
    record = ConsentRecord(participant_id=participant.id, version=definition["consent"]["version"],
                           text_sha256=hashlib.sha256(text.encode()).hexdigest(), locale=locale,
                           method="web", consented_at=now)
    session.add(record)
    session.flush()
    audit.record(session, actor=f"participant:{participant.id}", action="participant.consent",
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"version": record.version, "text_sha256": record.text_sha256})
    participant_settings.adopt_browser_timezone(session, participant, study, definition, browser_timezone, now)
    return record


def next_step(session: Session, participant: Participant, now: datetime) -> str | tuple[str, str]:
    """``"withdrawn"``, ``"consent"``, ``(timepoint, instrument)`` of a due baseline, or ``"home"``."""
    if participant.status != "active":
        return "withdrawn"
    definition = definition_of(session, study_of(session, participant))
    if not has_consented(session, participant, definition):
        return "consent"
    first = (definition.get("questionnaires") or {}).get("timepoints", [])[:1]
    for item in questionnaires.due(session, participant, definition, now):
        if first and item.timepoint == first[0]["key"] and first[0]["day"] == 0:
            return item.timepoint, item.instrument
    return "home"


def home(session: Session, participant: Participant, now: datetime, locale: str | None = None,
         arm_key: str | None = None) -> participant_home.Home:
    """The home page's rows (see :func:`hwtrial.services.participant_home.home`)."""
    definition = definition_of(session, study_of(session, participant))
    features = {}
    if definition.get("arms"):  # a bare definition (no arms) names its tasks in the default framing
        features = (homework.features_of(definition, arm_key) if arm_key is not None
                    else homework.arm_features(definition, participant))
    return participant_home.home(session, participant, definition, now,
                                 locale or participant.locale or definition["default_locale"],
                                 features.get("framing") or "default")


def own_instance(session: Session, participant: Participant, instance_id: int, now: datetime,
                 *, allow_final: bool = False) -> HomeworkInstance:
    """The participant's instance: 404 if not theirs or not open yet, 410 once expired."""
    instance = session.get(HomeworkInstance, instance_id)
    if instance is None or instance.participant_id != participant.id or participant.status != "active":
        raise ServiceError(404, "no such homework")
    if instance.open_at > now:
        raise ServiceError(404, "this homework is not open yet")
    if homework.refresh_state(instance, now) == "expired":
        raise ServiceError(410, "this homework has expired")
    if instance.state == "submitted" and not allow_final:
        raise ServiceError(409, "this homework was already submitted")
    return instance


def task_view(session: Session, participant: Participant, instance: HomeworkInstance,
              locale: str, now: datetime, arm_key: str | None = None) -> dict[str, Any]:
    """Template fields and texts in the arm's framing and the participant's locale (marks opened)."""
    definition = definition_of(session, study_of(session, participant))
    template = homework.template_spec(definition, instance.template_key)
    features = (homework.features_of(definition, arm_key) if arm_key is not None
                else homework.arm_features(definition, participant))
    framing = features.get("framing") or "default"
    homework.advance(instance, "opened", now)
    session.flush()
    texts = resolve_texts(template, locale, framing, definition["default_locale"])
    texts = assignment.tailored_texts(session, instance, texts)  # a therapist's tailoring wins
    return {"fields": template["fields"], "texts": texts, "framing": framing}


def entry_view(session: Session, participant: Participant, instance: HomeworkInstance,
               locale: str, arm_key: str | None = None) -> dict[str, Any]:
    """A submitted homework as the participant wrote it: labels and their own answers (read only)."""
    definition = definition_of(session, study_of(session, participant))
    template = homework.template_spec(definition, instance.template_key)
    features = (homework.features_of(definition, arm_key) if arm_key is not None
                else homework.arm_features(definition, participant))
    texts = resolve_texts(template, locale, features.get("framing") or "default", definition["default_locale"])
    answers = instance.submission or {}
    rows = [{"key": f["key"], "label": texts["fields"][f["key"]]["label"], "value": answers.get(f["key"]),
             "type": f["type"]} for f in template["fields"]]
    return {"title": texts["title"], "rows": rows, "self_review": instance.self_review or {}}


def save_draft(session: Session, participant: Participant, instance: HomeworkInstance,
               values: Mapping[str, Any], now: datetime) -> dict[str, list[str]]:
    """Keep the answers as typed, valid or not; returns the draft-mode problems (not raised).

    A value longer than its field allows (as submission counts it) is not kept: the draft is
    stored on every keystroke batch and must stay as bounded as the submission.
    """
    definition = definition_of(session, study_of(session, participant))
    require_writable(session, participant, definition)
    fields = homework.template_spec(definition, instance.template_key)["fields"]
    specs = {f["key"]: f for f in fields}
    instance.draft = {k: v for k, v in values.items() if k in specs and _fits_draft(specs[k], v)}
    homework.advance(instance, "started", now)
    session.flush()
    return validate_submission(fields, values, partial=True)[1]


#: Longest draft value of a field that is not text (a number, a date, the ticked choices).
DRAFT_OTHER_LIMIT = 1000


def _fits_draft(spec: Mapping[str, Any], value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    texts = [item if isinstance(item, str) else str(item) for item in items]
    if spec["type"] in ("text", "longtext"):
        return len(texts) <= 1 and all(len(t.strip()) <= text_limit(spec) for t in texts)
    return sum(len(t) for t in texts) <= DRAFT_OTHER_LIMIT


def submit(session: Session, participant: Participant, instance: HomeworkInstance,
           values: Mapping[str, Any], now: datetime) -> HomeworkInstance:
    """Validate and store; 422 naming each field (the caller keeps the draft first)."""
    study = study_of(session, participant)
    definition = definition_of(session, study)
    require_writable(session, participant, definition)
    fields = homework.template_spec(definition, instance.template_key)["fields"]
    clean, errors = validate_submission(fields, values)
    if errors:
        raise ServiceError(422, "some answers need attention", errors)
    instance.submission, instance.draft = clean, None
    homework.advance(instance, "submitted", now)
    instance.late = now > instance.due_at
    homework.recompute_metrics(session, instance, definition)
    audit.record(session, actor=f"participant:{participant.id}", action="homework.submit",
                 target=f"homework:{instance.id}", study_key=study.key, after={"late": instance.late})
    return instance


def self_review_spec(session: Session, participant: Participant, locale: str) -> dict[str, Any] | None:
    """Prompt and usefulness scale when the participant's arm has self-review, else None."""
    definition = definition_of(session, study_of(session, participant))
    feature = homework.arm_features(definition, participant).get("self_review") or {}
    if not feature.get("enabled"):
        return None
    prompt = feature.get("prompt") or {}
    scale = feature.get("usefulness_scale") or {"min": 0, "max": 10}
    return {"prompt": prompt.get(locale) or prompt.get(definition["default_locale"]) or "",
            "min": int(scale["min"]), "max": int(scale["max"])}


def self_review(session: Session, participant: Participant, instance_id: int, locale: str,
                values: Mapping[str, Any], now: datetime) -> HomeworkInstance:
    """The participant's own review of submitted homework (reviewer_role ``client``)."""
    instance = own_instance(session, participant, instance_id, now, allow_final=True)
    require_writable(session, participant, definition_of(session, study_of(session, participant)))
    spec = self_review_spec(session, participant, locale)
    if spec is None or instance.state != "submitted":
        raise ServiceError(404, "no self-review for this homework")
    if instance.reviewed_at is not None:
        raise ServiceError(409, "this homework was already reviewed")
    clean, errors = validate_submission(homework.review_fields(spec), values)
    if errors:
        raise ServiceError(422, "some answers need attention", errors)
    instance.self_review, instance.reviewer_role, instance.reviewed_at = clean, "client", now
    homework.recompute_metrics(session, instance, definition_of(session, study_of(session, participant)))
    return instance
