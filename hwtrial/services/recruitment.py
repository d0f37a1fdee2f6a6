"""Recruitment-platform entry (Prolific) and the completion redirect.

Prolific sends every participant to the *same* study URL, substituting
``{{%PROLIFIC_PID%}}``, ``{{%STUDY_ID%}}`` and ``{{%SESSION_ID%}}`` at click time, so it
cannot carry a per-participant signature. The entry therefore rests on two things:

* a per-study entry token (:func:`entry_token`, derived from ``HWTRIAL_SECRET_KEY``) in the
  configured study URL: without it, or for a study whose file has no ``recruitment.prolific``
  section, the route answers exactly like an unknown study (404);
* for someone already enrolled, the ``SESSION_ID`` recorded at their first entry (Prolific's
  per-submission id, unguessable and known only to that participant and Prolific), or the
  participant's own hwtrial session. Only participants enrolled through Prolific can come back
  this way; every refusal (unknown proof, other strata, enrolled by the API) is one answer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

from flask import current_app
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Participant, Study
from .allocation import design_of
from .enrolment import enrol, find_participant, validated_strata

#: The actor recorded in the audit trail for platform enrolments.
PROLIFIC = Principal(role="prolific")
#: Query parameter carrying the per-study entry token.
ENTRY_PARAM = "entry"
#: Longest platform id accepted (the participant's ``external_id`` column holds 200).
MAX_PARAM_LENGTH = 200
#: The one answer for every refused re-entry: it must not tell whether the id is enrolled.
REFUSED = "this study link cannot be used here; please open the study again from Prolific"


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


def entry_token(study: Study) -> str:
    """The study's entry token (HMAC of the key): stable, so the URL given to Prolific keeps working."""
    key = current_app.config["HWTRIAL_SECRET_KEY"].encode()
    return hmac.new(key, b"hwtrial.recruitment:" + study.key.encode(), hashlib.sha256).hexdigest()[:32]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def entry_study(session: Session, study_key: str, token: str) -> Study:
    """The study behind ``/r/<key>``; 404 (as for an unknown study) without Prolific or the token."""
    from .studies import get_study

    study = get_study(session, None, study_key)
    if not _prolific(study) or not _same(token or "", entry_token(study)):
        raise ServiceError(404, f"no study {study_key!r}")
    return study


def study_url(study: Study, base_url: str, strata: Mapping[str, str] | None = None) -> str:
    """The URL to give Prolific (its placeholders left for Prolific to fill in)."""
    names = prolific_params(study)
    query = "&".join([f"{names['pid']}={{{{%PROLIFIC_PID%}}}}", f"{names['study']}={{{{%STUDY_ID%}}}}",
                      f"{names['session']}={{{{%SESSION_ID%}}}}", f"{ENTRY_PARAM}={entry_token(study)}"]
                     + [f"{quote(k)}={quote(v)}" for k, v in (strata or {}).items()])
    prefix = current_app.extensions["hwtrial"].url_prefix
    return f"{base_url.rstrip('/')}{prefix}/r/{quote(study.key)}?{query}"


def check_entry(study: Study, args: Mapping[str, str]) -> dict:
    """Validate the URL without looking anyone up (so a 422 tells nothing about who is enrolled)."""
    names = prolific_params(study)
    values = {key: (args.get(names[key]) or "").strip() for key in ("pid", "study", "session")}
    errors = {names[key]: ["missing"] for key in ("pid", "session") if not values[key]}
    # The PID becomes external_id (200 characters); the others are kept beside it.
    errors.update({names[key]: [f"must be at most {MAX_PARAM_LENGTH} characters"]
                   for key in values if len(values[key]) > MAX_PARAM_LENGTH})
    cluster_unit = design_of(study).cluster_unit
    if cluster_unit and len(args.get(cluster_unit) or "") > MAX_PARAM_LENGTH:
        errors[cluster_unit] = [f"must be at most {MAX_PARAM_LENGTH} characters"]
    if errors:
        raise ServiceError(422, "the link lacks the platform's parameters", errors)
    design = design_of(study)
    strata = {f: args[f] for f in design.levels if f in args}
    cluster = args.get(design.cluster_unit) if design.cluster_unit else None
    validated_strata(design, strata, cluster)
    if study.status != "active":
        raise ServiceError(409, f"study {study.key!r} is {study.status}, not active",
                           {"status": ["enrolment needs an active study"]})
    return {"external_id": values["pid"], "strata": strata, "cluster": cluster,
            "source_info": {"platform": "prolific", "study_id": values["study"] or None,
                            "session_id": values["session"]}}


def prolific_enter(session: Session, study: Study, args: Mapping[str, str],
                   current: Participant | None = None, locale: str | None = None) -> Participant:
    """Enrol a new Prolific participant, or let an enrolled one back in with proof; 403 otherwise.

    ``current`` is the participant this browser is already signed in as, if any. ``locale``
    (negotiated from the browser by the page) is stored for a new participant, so the consent
    text is in the language they read, not silently in the study default.
    """
    data = check_entry(study, args)
    if locale:
        data["locale"] = locale
    existing = find_participant(session, study, data["external_id"])
    if existing is None:
        try:
            done = enrol(session, PROLIFIC, study, data, source="prolific", source_info=data["source_info"])
        except ServiceError as error:
            if error.status != 409:
                raise
            raise ServiceError(403, REFUSED) from None  # lost a race to someone with other strata
        if done.created:
            return done.participant
        existing = done.participant
    if not _may_reenter(existing, data["source_info"]["session_id"], current):
        raise ServiceError(403, REFUSED)
    return existing


def _may_reenter(participant: Participant, session_id: str, current: Participant | None) -> bool:
    if participant.status != "active":
        return False
    if current is not None and current.id == participant.id:
        return True
    stored = (participant.source_info or {}).get("session_id") or ""
    return participant.source == "prolific" and bool(stored) and _same(stored, session_id)


def completion_url(study: Study) -> str:
    """Where a finished participant goes: the configured URL, with ``cc=<code>`` if given."""
    url = completion_url_or_none(study)
    if url is None:
        raise ServiceError(404, "this study has no completion URL")
    return url


def completion_url_or_none(study: Study) -> str | None:
    """:func:`completion_url`, or None when the study has none (its own thank-you page is shown)."""
    own = _prolific(study)
    url, code = own.get("completion_url"), own.get("completion_code")
    if not url:
        return None
    if code and "cc=" not in (urlsplit(url).query or ""):
        url += ("&" if "?" in url else "?") + urlencode({"cc": code})
    return url
