"""The one check before anything a participant sends is stored.

Every participant write path (questionnaire answers, homework drafts and submissions,
self-review, consent, engagement events) calls :func:`require_writable`, so no page or API
route can store health data for someone who has not consented or who has left the study.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import ConsentRecord, Participant

LEFT = "you have left the study; nothing more is stored"
NO_CONSENT = "please give your consent first; nothing is stored before that"


def require_writable(session: Session, participant: Participant, definition: Mapping[str, Any], *,
                     consent: bool = True) -> None:
    """409 for a withdrawn participant; 403 without consent to the current version.

    ``consent=False`` skips the consent check (for storing the consent itself).
    """
    if participant.status != "active":
        raise ServiceError(409, LEFT, {"participant": ["withdrawn"]})
    wanted = definition.get("consent")
    if not consent or not wanted:
        return
    found = session.scalar(sa.select(ConsentRecord.id).where(
        ConsentRecord.participant_id == participant.id,
        ConsentRecord.version == str(wanted["version"])).limit(1))
    if found is None:
        raise ServiceError(403, NO_CONSENT, {"consent": ["required"]})
