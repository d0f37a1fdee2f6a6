"""Participant links in bulk: pre-enrol N participants with generated ids (oTree/JATOS style).

Each participant is enrolled (and so allocated) now, through :func:`enrolment.enrol`; the
links can then be handed out by hand or mailed. The answer carries no arm.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Study
from .enrolment import enrol, participant_link

#: Largest batch in one call (each enrolment takes the study's allocation lock).
MAX_BATCH = 10_000


def enrol_batch(session: Session, actor: str, study: Study, count: int, *, strata: dict,
                cluster: str | None, base_url: str | None, id_prefix: str = "link") -> list[dict]:
    """Enrol ``count`` new participants with ids ``<id_prefix>-<random>``; their id and link."""
    if not 1 <= count <= MAX_BATCH:
        raise ServiceError(422, f"count must be 1 to {MAX_BATCH}", {"count": [f"1 to {MAX_BATCH}"]})
    if not base_url:
        raise ServiceError(422, "participant links need a base URL: pass --base-url or set "
                                "HWTRIAL_PUBLIC_URL", {"base_url": ["required"]})
    principal = Principal(role=actor)
    rows: list[dict] = []
    while len(rows) < count:
        external_id = f"{id_prefix}-{secrets.token_hex(5)}"
        done = enrol(session, principal, study, {"external_id": external_id, "strata": strata,
                                                 "cluster": cluster}, source="batch")
        if not done.created:  # the id was taken (and its strata matched): draw another
            continue
        rows.append({"id": done.participant.id, "external_id": external_id,
                     "link": participant_link(done.participant, base_url=base_url)})
    return rows
