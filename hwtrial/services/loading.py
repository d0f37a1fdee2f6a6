"""Load a study file into the database, or amend a loaded study from its changed file (CLI, demo)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import Study
from ..studydef import StudyDefinition, StudyDefinitionError, load_study_file, problems_as_errors
from . import studies


def _read(path: str) -> StudyDefinition:
    try:
        return load_study_file(path)
    except StudyDefinitionError as error:
        raise ServiceError(422, f"{path}: the study definition is invalid\n{error}",
                           problems_as_errors(error.problems)) from None


def load_study_from_file(session: Session, actor: str, path: str, *, activate: bool = False) -> Study:
    definition = _read(path)
    if session.scalar(sa.select(Study.id).where(Study.key == definition.key)) is not None:
        # Loading a changed file again must not look like it did something: changes are amendments.
        raise ServiceError(409, f"study {definition.key!r} exists; to apply a changed file use "
                                f"`hwtrial studies amend {path} --reason \"...\"`",
                           {"key": ["already exists"]})
    study = studies.create_study(session, actor, definition)
    if activate:
        studies.transition(session, actor, study, "active", "activated on load")
    return study


def amend_study_from_file(session: Session, actor: str, path: str, reason: str) -> Study:
    """Apply a changed file to its study (see :func:`studies.amend` for what may change)."""
    definition = _read(path)
    study = studies.get_study(session, None, definition.key)
    if definition.data == study.definition:
        raise ServiceError(409, f"{path} is identical to version {study.current_version} of "
                                f"{study.key!r}: nothing to amend")
    return studies.amend(session, actor, study, definition, reason)
