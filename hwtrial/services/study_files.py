"""Study files on the staff pages: check a pasted or uploaded file, save it as a draft or an
amendment (through :mod:`.studies`, as the API does), and the diff between two versions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import yaml
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Study
from ..studydef import (
    Problem,
    StudyDefinition,
    StudyDefinitionError,
    load_study_text,
    problems_as_errors,
)
from . import studies

#: The study file limit (as the API's ``yaml`` field).
MAX_TEXT = 1024 * 1024


@dataclass(frozen=True)
class FileCheck:
    """A study file's text checked: the definition when valid, else every problem (with lines)."""

    text: str
    definition: StudyDefinition | None
    problems: tuple[Problem, ...]


def check_text(text: str, source: str = "study file") -> FileCheck:
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return FileCheck(text, None, (Problem(source, "<file>", "the study file is empty"),))
    if len(text.encode()) > MAX_TEXT:
        return FileCheck(text, None, (Problem(source, "<file>", f"larger than {MAX_TEXT // 1024} KiB"),))
    try:
        return FileCheck(text, load_study_text(text, source), ())
    except StudyDefinitionError as error:
        return FileCheck(text, None, tuple(error.problems))


def _valid(check: FileCheck) -> StudyDefinition:
    if check.definition is None:
        raise ServiceError(422, "the study definition is invalid", problems_as_errors(check.problems))
    return check.definition


def create_draft(session: Session, principal: Principal, check: FileCheck) -> Study:
    """A new draft study from a valid file (422 with the problems otherwise)."""
    return studies.create_study(session, principal, _valid(check), source_text=check.text)


def amend_from_file(session: Session, principal: Principal, study: Study, check: FileCheck,
                    reason: str) -> Study:
    """Edit a draft or amend an active study from a valid file (reason required when active)."""
    definition = _valid(check)
    if definition.data == study.definition and study.versions[-1].source_text == check.text:
        raise ServiceError(409, f"the file is identical to version {study.current_version}; nothing to change")
    return studies.amend(session, principal, study, definition, reason, source_text=check.text)


def version_text(study: Study, version: int) -> str:
    """The stored file text of ``version``, or its definition as YAML when no text was kept."""
    for row in study.versions:
        if row.version == version:
            if row.source_text is not None:
                return row.source_text
            return yaml.safe_dump(row.definition, sort_keys=False, allow_unicode=True)
    raise ServiceError(404, f"no version {version} of {study.key!r}")


def version_diff(study: Study, old: int, new: int) -> list[str]:
    """Unified diff lines from version ``old`` to ``new`` of the study file."""
    before, after = version_text(study, old), version_text(study, new)
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), f"version {old}",
                                     f"version {new}", lineterm="", n=3))
