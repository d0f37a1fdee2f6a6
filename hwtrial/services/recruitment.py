"""Recruitment-platform entry (Prolific) and the completion redirect."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Participant, Study
from .allocation import design_of
from .enrolment import enrol

#: The actor recorded in the audit trail for platform enrolments.
PROLIFIC = Principal(role="prolific")


def prolific_params(study: Study) -> dict[str, str]:
    """Query parameter names: the study's ``recruitment.prolific`` over the ``HWTRIAL_PROLIFIC_*`` keys."""
    config = current_app.config
    names = {"pid": config["HWTRIAL_PROLIFIC_PID_PARAM"],
             "study": config["HWTRIAL_PROLIFIC_STUDY_PARAM"],
             "session": config["HWTRIAL_PROLIFIC_SESSION_PARAM"]}
    own = _prolific(study)
    for key in names:
        names[key] = own.get(f"{key}_param") or names[key]
    return names


def _prolific(study: Study) -> dict:
    return ((study.definition.get("recruitment") or {}).get("prolific")) or {}


def prolific_enrol(session: Session, study: Study, args: Mapping[str, str]) -> Participant:
    """Enrol (idempotently) the Prolific participant named in the entry URL.

    Strata the URL cannot give are read from extra query parameters named after the
    study's factors (and the cluster unit); missing ones give a 422 naming them.
    """
    names = prolific_params(study)
    pid = (args.get(names["pid"]) or "").strip()
    if not pid:
        raise ServiceError(422, f"the link lacks the {names['pid']} parameter",
                           {names["pid"]: ["missing"]})
    design = design_of(study)
    data = {"external_id": pid, "strata": {f: args[f] for f in design.levels if f in args},
            "cluster": args.get(design.cluster_unit) if design.cluster_unit else None}
    info = {"platform": "prolific", "study_id": args.get(names["study"]),
            "session_id": args.get(names["session"])}
    return enrol(session, PROLIFIC, study, data, source="prolific", source_info=info).participant


def completion_url(study: Study) -> str:
    """Where a finished participant goes: the configured URL, with ``cc=<code>`` if given."""
    own = _prolific(study)
    url, code = own.get("completion_url"), own.get("completion_code")
    if not url:
        raise ServiceError(404, "this study has no completion URL")
    if code and "cc=" not in (urlsplit(url).query or ""):
        url += ("&" if "?" in url else "?") + urlencode({"cc": code})
    return url
