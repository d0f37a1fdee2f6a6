"""Studies: create from a definition, list, read, change status, amend."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Study, StudyVersion, utcnow
from ..studydef import StudyDefinition
from . import audit
from .homework import regenerate_for_study

#: Allowed status changes: from → to.
TRANSITIONS = {("draft", "active"), ("active", "closed")}

#: Parts of a definition that randomisation depends on: locked once a study is active.
LOCKED_PARTS = ("arms", "factors", "fractional", "stratification", "clusters", "allocation")


def create_study(session: Session, actor: Principal | str, definition: StudyDefinition,
                 source_text: str | None = None) -> Study:
    """A draft study at version 1; ``source_text`` is the study file as given (kept for diffs)."""
    if isinstance(actor, Principal) and actor.study_keys is not None:
        # Checked first: a scoped token must not learn (by a 409) which other studies exist.
        raise ServiceError(403, "a token scoped to studies cannot create studies")
    if session.scalar(sa.select(Study.id).where(Study.key == definition.key)) is not None:
        raise ServiceError(409, f"study {definition.key!r} exists", {"key": ["already exists"]})
    study = Study(key=definition.key, title=definition.title, status="draft", current_version=1,
                  allocation_seed=str(secrets.randbits(128)))
    study.versions.append(StudyVersion(version=1, definition=definition.data, reason="created",
                                       source_text=source_text))
    session.add(study)
    session.flush()
    audit.record(session, actor=_actor(actor), action="study.create", target=f"study:{study.key}",
                 study_key=study.key, after={"version": 1, "title": study.title})
    return study


def list_studies(session: Session, principal: Principal) -> list[Study]:
    query = sa.select(Study).order_by(Study.key)
    if principal.study_keys is not None:
        query = query.where(Study.key.in_(sorted(principal.study_keys)))
    return list(session.scalars(query))


def get_study(session: Session, principal: Principal | None, key: str) -> Study:
    """The study, or 404 when it does not exist or lies outside the caller's token scope."""
    study = session.scalar(sa.select(Study).where(Study.key == key))
    if study is None or (principal is not None and not principal.may_touch_study(key)):
        raise ServiceError(404, f"no study {key!r}")
    return study


def lock_study(session: Session, study: Study) -> Study:
    """Re-read the study row under a row lock (status changes must not interleave)."""
    return session.execute(
        sa.select(Study).where(Study.id == study.id).with_for_update()
    ).scalar_one()


def transition(session: Session, actor: Principal | str, study: Study, to_status: str,
               reason: str = "") -> Study:
    study = lock_study(session, study)
    if (study.status, to_status) not in TRANSITIONS:
        raise ServiceError(409, f"cannot go from {study.status} to {to_status}",
                           {"status": [f"allowed from {study.status}: "
                                       + ", ".join(t for f, t in TRANSITIONS if f == study.status)]})
    before = study.status
    study.status = to_status
    setattr(study, "activated_at" if to_status == "active" else "closed_at", utcnow())
    audit.record(session, actor=_actor(actor), action=f"study.{to_status}", target=f"study:{study.key}",
                 study_key=study.key, before={"status": before}, after={"status": to_status},
                 reason=reason or None)
    return study


def amend(session: Session, actor: Principal | str, study: Study, definition: StudyDefinition,
          reason: str, source_text: str | None = None) -> Study:
    """A draft is edited in place; an active study gets a new version; a closed one is final."""
    study = lock_study(session, study)
    if definition.key != study.key:
        raise ServiceError(422, "the definition is for another study", {"key": [f"must be {study.key!r}"]})
    if study.status == "closed":
        raise ServiceError(409, "a closed study cannot be amended")
    current = study.definition
    if study.status == "active":
        if not reason.strip():
            raise ServiceError(422, "an amendment needs a reason", {"reason": ["required"]})
        changed = [p for p in LOCKED_PARTS if current.get(p) != definition.data.get(p)]
        if changed:
            raise ServiceError(422, "the design is locked while the study is active",
                               {p: ["cannot change after activation"] for p in changed})
    if study.status == "draft":
        study.versions[-1].definition = definition.data
        study.versions[-1].source_text = source_text
    else:
        study.current_version += 1
        study.versions.append(StudyVersion(version=study.current_version, definition=definition.data,
                                           reason=reason, source_text=source_text))
    study.title = definition.title
    session.flush()
    regenerate_for_study(session, study)  # new slots; not-yet-opened ones move; started work stays
    audit.record(session, actor=_actor(actor), action="study.amend", target=f"study:{study.key}",
                 study_key=study.key, before={"version": study.current_version - (study.status != "draft")},
                 after={"version": study.current_version}, reason=reason or None)
    return study


def _actor(actor: Principal | str) -> str:
    return actor if isinstance(actor, str) else actor.actor
