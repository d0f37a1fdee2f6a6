"""Who a page is for before (or after) a participant session exists.

The link's start page (``/p/start``) is branded with the study's title and written in the
participant's language, read from the signed link without using it up. A withdrawn
participant who opens an old link, or a task link in a browser whose session withdrawal
revoked, gets the farewell page (the study's contact, what happens to their data) instead
of "this page does not exist". Either proof (a signed link, the session secret) shows only
that one participant's own study and status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.links import LinkError, read_link_token
from ..auth.secrets import digest
from ..homework import pick_locale
from ..models import Participant, Study, WebSession
from .safety_message import support_for


@dataclass(frozen=True)
class Farewell:
    """The withdrawn participant's page."""

    study_title: str
    #: The study team's contact line in the participant's locale ("" when the study gives none).
    contact: str
    #: The participant withdrew consent for the use of their data (it is flagged for exclusion).
    data_excluded: bool


@dataclass(frozen=True)
class EntryPage:
    """What a page outside the participant session knows of its reader."""

    participant: Participant
    study: Study
    definition: dict[str, Any]
    locale: str
    #: Set when the participant has left the study.
    farewell: Farewell | None


def choose_locale(definition: Mapping[str, Any], stored: str | None, asked: str | None,
                  accept: Sequence[str]) -> str:
    """``asked`` (the language switcher's choice) if offered, then stored, browser, default."""
    default = definition.get("default_locale") or "en"
    offered = definition.get("locales") or [default]
    if asked in offered:
        return asked
    return pick_locale(stored, accept, offered, default)


def farewell(definition: Mapping[str, Any], participant: Participant, locale: str) -> Farewell:
    return Farewell(study_title=definition.get("title") or "", contact=support_for(definition, locale).contact,
                    data_excluded=bool(participant.exclude_data))


def _page(session: Session, participant: Participant, asked: str | None, accept: Sequence[str]) -> EntryPage:
    from .participant_flow import definition_of

    study = session.get(Study, participant.study_id)
    definition = definition_of(session, study)
    locale = choose_locale(definition, participant.locale, asked, accept)
    left = farewell(definition, participant, locale) if participant.status != "active" else None
    return EntryPage(participant, study, definition, locale, left)


def from_link(session: Session, secret_key: str, token: str, max_age: timedelta,
              asked: str | None, accept: Sequence[str]) -> EntryPage | None:
    """The page of a start link's participant; None for a bad, expired or superseded link.

    A withdrawn participant's link was superseded by withdrawal (the generation was bumped),
    and still opens their farewell page: they need the contact most then.
    """
    try:
        participant_id, generation = read_link_token(secret_key, token, max_age)
    except LinkError:
        return None
    participant = session.get(Participant, participant_id)
    if participant is None or (participant.status == "active" and participant.link_generation != generation):
        return None
    return _page(session, participant, asked, accept)


def withdrawn_by_session(session: Session, secret: str, accept: Sequence[str]) -> EntryPage | None:
    """The farewell page of a withdrawn participant whose (revoked) session cookie this is."""
    participant = session.scalar(
        sa.select(Participant).join(WebSession, WebSession.participant_id == Participant.id)
        .where(WebSession.secret_hash == digest(secret), Participant.status != "active"))
    return _page(session, participant, None, accept) if participant is not None else None
