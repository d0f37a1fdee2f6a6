"""Feature flags of a participant's arm, with the first exposure to each feature recorded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import FeatureExposure, Participant, Study, utcnow
from .allocation import _insert_ignore, design_of


def features_for(session: Session, study: Study, participant: Participant,
                 channel: str = "api") -> dict[str, Any]:
    """The features of the participant's arm (reminders, self_review, framing, extra).

    For a withdrawn participant the answer is only ``{"status": "withdrawn"}``.

    Each feature's first exposure is stored once in :class:`FeatureExposure` (UNIQUE per
    participant and feature; later and concurrent calls leave it alone) so per-protocol
    analyses can tell allocated from exposed.
    """
    if participant.status != "active":
        # Withdrawn: no feature is active any more (a host app stops reminding), nothing exposed.
        return {"status": participant.status}
    design = design_of(study)
    features = design.arms[participant.allocation.arm_key]["features"]
    insert = _insert_ignore(session)
    now = utcnow()
    rows = [{"participant_id": participant.id, "feature": name, "channel": channel,
             "first_exposed_at": now} for name in sorted(features)]
    if rows:
        session.execute(insert(FeatureExposure).values(rows)
                        .on_conflict_do_nothing(index_elements=["participant_id", "feature"]))
    return features


def exposures(session: Session, participant: Participant) -> dict[str, Any]:
    """Feature name to the first exposure (time and channel)."""
    rows = session.scalars(sa.select(FeatureExposure)
                           .where(FeatureExposure.participant_id == participant.id))
    return {r.feature: {"at": r.first_exposed_at, "channel": r.channel} for r in rows}


def features_by_ref(session: Session, study_key: str, ref: str | int,
                    channel: str = "host") -> dict[str, Any]:
    """Features for a host app's Python call: ``ref`` is an external id (str) or a participant id (int)."""
    from .enrolment import participant_by_ref
    from .studies import get_study

    study = get_study(session, None, study_key)
    participant = participant_by_ref(session, study, ref)
    if participant is None or participant.allocation is None:
        from ..errors import ServiceError

        raise ServiceError(404, f"no allocated participant {ref!r} in study {study_key!r}")
    return features_for(session, study, participant, channel=channel)
