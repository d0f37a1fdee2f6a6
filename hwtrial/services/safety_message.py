"""The participant's side of a safety alert: crisis contacts shown right after the questionnaire.

:func:`hwtrial.services.questionnaires.submit` raises the coordinator's alert; this module
shows the participant the study's support message and crisis contacts (``support`` in the
study file, required whenever an instrument has a safety rule) and audits each showing, so
the study can show that the person was pointed to help, and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import Participant, QuestionnaireResponse, SafetyAlert, Study
from . import audit


@dataclass(frozen=True)
class Support:
    """What the study file says about getting help, in one locale."""

    #: The study team's contact line ("" when the study gives none).
    contact: str
    #: ``[{name, phone, sms, url, hours}]`` for the locale (the default locale's as fallback).
    crisis_contacts: list[dict[str, Any]]
    #: The study's own wording of the support message ("": the built-in text is shown).
    message: str


def _in_locale(texts: Mapping[str, Any] | None, locale: str, default: str) -> Any:
    texts = texts or {}
    return texts.get(locale) or texts.get(default)


def support_for(definition: Mapping[str, Any], locale: str) -> Support:
    """The study's support texts in ``locale``, falling back to the default locale."""
    support, default = definition.get("support") or {}, definition.get("default_locale") or "en"
    return Support(contact=_in_locale(support.get("contact"), locale, default) or "",
                   crisis_contacts=list(_in_locale(support.get("crisis_contacts"), locale, default) or []),
                   message=_in_locale(support.get("message"), locale, default) or "")


def raised_alert(session: Session, response: QuestionnaireResponse) -> bool:
    """Whether this response raised a safety alert (the participant is shown support next)."""
    return session.scalar(sa.select(SafetyAlert.id).where(SafetyAlert.response_id == response.id).limit(1)) is not None


def alert_of(session: Session, participant: Participant, timepoint: str, instrument: str) -> SafetyAlert | None:
    """The safety alert raised by the participant's own answer to one questionnaire, if any."""
    return session.scalar(
        sa.select(SafetyAlert).join(QuestionnaireResponse, QuestionnaireResponse.id == SafetyAlert.response_id)
        .where(SafetyAlert.participant_id == participant.id,
               QuestionnaireResponse.participant_id == participant.id,
               QuestionnaireResponse.timepoint_key == timepoint,
               QuestionnaireResponse.instrument_key == instrument)
        .order_by(SafetyAlert.id).limit(1))


def show(session: Session, participant: Participant, study: Study, definition: Mapping[str, Any],
         timepoint: str, instrument: str, locale: str, now: datetime) -> Support:
    """The support page after an endorsed safety item; audited every time it is shown.

    404 when this participant's answer raised no alert: the page is not a way to learn
    anything about anyone else, and it is not shown without a reason.
    """
    alert = alert_of(session, participant, timepoint, instrument)
    if alert is None:
        raise ServiceError(404, "no support message for this questionnaire")
    support = support_for(definition, locale)
    audit.record(session, actor=f"participant:{participant.id}", action="safety_message.shown",
                 target=f"safety_alert:{alert.id}", study_key=study.key,
                 after={"locale": locale, "crisis_contacts": len(support.crisis_contacts),
                        "shown_at": now.isoformat()})
    return support
