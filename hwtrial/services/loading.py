"""Load a study file into the database (CLI and demo)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import Study
from ..studydef import StudyDefinitionError, load_study_file, problems_as_errors
from . import studies


def load_study_from_file(session: Session, actor: str, path: str, *, activate: bool = False) -> Study:
    try:
        definition = load_study_file(path)
    except StudyDefinitionError as error:
        raise ServiceError(422, f"{path}: the study definition is invalid\n{error}",
                           problems_as_errors(error.problems)) from None
    study = studies.create_study(session, actor, definition)
    if activate:
        studies.transition(session, actor, study, "active", "activated on load")
    return study
