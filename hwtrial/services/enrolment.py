"""Enrol a participant: validate, insert idempotently, allocate, consent, audit.

Idempotency: the same ``external_id`` with the same strata and cluster answers with the stored
enrolment (200); with other strata or cluster it is a conflict (409, stored answer under
``existing``), and so is an id that enrolled itself through a recruitment platform when staff or a
host enrol it (or the other way round). A concurrent duplicate that loses the race on the UNIQUE (study, external_id)
constraint is turned into the same replay through a SAVEPOINT.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth.links import make_link_token
from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Allocation, ConsentRecord, Participant, Study, User, WebSession, utcnow
from ..scheduling import instance_state, plan_instances
from . import audit, blinding
from .allocation import StudyDesign, allocate, design_of
from .homework import generate_instances


@dataclass(frozen=True)
class Enrolment:
    """Outcome of :func:`enrol`: the participant and whether this call created it."""

    participant: Participant
    created: bool


def _clean(value: Any) -> str:
    return "" if value is None else str(value).strip()


def validated_strata(design: StudyDesign, strata: dict, cluster: str | None) -> dict[str, str]:
    """The participant's factor levels (and cluster id under the cluster unit); 422 otherwise."""
    errors: dict[str, list[str]] = {}
    out = {}
    for factor, levels in design.levels.items():
        level = _clean(strata.get(factor))
        if not level:
            errors[f"strata.{factor}"] = ["missing"]
        elif level not in levels:
            errors[f"strata.{factor}"] = [f"unknown level {level!r}; one of {', '.join(levels)}"]
        else:
            out[factor] = level
    for factor in set(strata) - set(design.levels):
        errors[f"strata.{factor}"] = ["not a factor of this study"]
    unit = design.cluster_unit
    if unit and not _clean(cluster):
        errors["cluster"] = [f"required: the {unit} this participant belongs to"]
    if errors:
        raise ServiceError(422, "the strata are incomplete or invalid", errors)
    if unit:
        out[unit] = _clean(cluster)
    return out


def require_enrol_right(principal: Principal) -> None:
    """Staff enrol through the API only as admin or coordinator (host platforms use such a token)."""
    if principal.role not in ("admin", "coordinator"):
        raise ServiceError(403, "enrolment needs an admin or coordinator token")


def find_participant(session: Session, study: Study, external_id: str) -> Participant | None:
    return session.scalar(sa.select(Participant).where(Participant.study_id == study.id,
                                                       Participant.external_id == external_id))


def participant_by_ref(session: Session, study: Study, ref: str | int) -> Participant | None:
    """A host's reference to a participant: hwtrial's id (int) or the external id (str)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        found = session.get(Participant, ref)
        return found if found is not None and found.study_id == study.id else None
    return find_participant(session, study, str(ref))


#: Sources whose participants enrolled themselves (through a recruitment platform's link).
SELF_ENROLLED = frozenset({"prolific"})


def _same_or_conflict(principal, study, design, existing: Participant, strata, cluster,
                      source: str) -> Enrolment:
    if (existing.source in SELF_ENROLLED) != (source in SELF_ENROLLED):
        # Never a replay across channels: a visitor of the study's recruitment link who
        # enrolled under a host's id (squatting it) holds a session of that participant, so
        # the host must not adopt it and hand it to its user, nor the link the other way round.
        raise ServiceError(409, f"participant {existing.external_id!r} enrolled through another channel "
                                f"({existing.source})", {"external_id": [f"taken by a {existing.source} enrolment"]},
                           {"existing": participant_view(principal, study, existing, design)})
    if existing.strata == strata and (existing.cluster_key or None) == (cluster or None):
        return Enrolment(existing, created=False)
    raise ServiceError(409, f"participant {existing.external_id!r} is enrolled with other strata",
                       {"strata": ["differ from the stored enrolment"]},
                       {"existing": participant_view(principal, study, existing, design)})


def enrol(session: Session, principal: Principal, study: Study, data: dict, *,
          source: str = "api", source_info: dict | None = None,
          enrolled_at: datetime | None = None) -> Enrolment:
    """Enrol (or replay the enrolment of) ``data["external_id"]`` in ``study``.

    ``data`` holds ``external_id``, ``strata``, and optionally ``cluster``, ``therapist_id``,
    ``locale``, ``timezone`` and ``consent`` ({version, method, locale, consented_at?}).
    ``enrolled_at`` (default now) back-dates the enrolment, and so the schedule, for the demo;
    the audit entry keeps the real time it was recorded.
    """
    design = design_of(study)
    external_id = _clean(data.get("external_id"))
    if not external_id:
        raise ServiceError(422, "external_id is required", {"external_id": ["required"]})
    values = validated_strata(design, data.get("strata") or {}, data.get("cluster"))
    strata = {k: v for k, v in values.items() if k != design.cluster_unit}
    cluster = _clean(data.get("cluster")) or None
    if study.status != "active":
        raise ServiceError(409, f"study {study.key!r} is {study.status}, not active",
                           {"status": ["enrolment needs an active study"]})
    participant = Participant(
        study_id=study.id, external_id=external_id, strata=strata, cluster_key=cluster,
        therapist_id=_therapist(session, data.get("therapist_id")),
        locale=_locale(design, data.get("locale")), timezone=_timezone(data.get("timezone")),
        email=data.get("email"), source=source, source_info=source_info or {}, enrolled_at=enrolled_at or utcnow())
    consent = _consent(design, data.get("consent"), participant.locale)
    try:
        # No look-up first: the UNIQUE (study, external_id) insert is the check, and a
        # replay (sequential or concurrent) takes the IntegrityError path.
        with session.begin_nested():
            session.add(participant)
            session.flush()
    except IntegrityError:
        existing = find_participant(session, study, external_id)
        if existing is None:  # some other constraint failed: not a replay
            raise
        return _same_or_conflict(principal, study, design, existing, strata, cluster, source)
    if consent is not None:
        session.add(ConsentRecord(participant_id=participant.id, **consent))
    # Homework before allocation: the schedule does not depend on the arm, and everything
    # from the allocation lock to the commit is serialised per study, so keep that short.
    _generate_homework(session, participant, design, participant.enrolled_at)
    row = allocate(session, study, design, participant, values)
    audit.record(session, actor=principal.actor, action="participant.enrol",
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"external_id": external_id, "stratum": row.stratum_key,
                        "sequence_no": row.sequence_no, "arm_code": design.arms[row.arm_key]["code"],
                        "source": source})
    return Enrolment(participant, created=True)


def _generate_homework(session, participant, design, now) -> None:
    generate_instances(session, participant, design.data, now, new_participant=True)


def _therapist(session: Session, therapist_id) -> int | None:
    if therapist_id is None:
        return None
    user = session.get(User, therapist_id)
    if user is None or not user.active or user.role != "therapist":
        raise ServiceError(422, "therapist_id is not an active therapist account",
                           {"therapist_id": ["not an active therapist"]})
    return user.id


def _locale(design: StudyDesign, locale) -> str:
    locale = _clean(locale) or design.data["default_locale"]
    if locale not in design.data["locales"]:
        raise ServiceError(422, f"locale {locale!r} is not offered",
                           {"locale": [f"one of {', '.join(design.data['locales'])}"]})
    return locale


def _timezone(name) -> str:
    name = _clean(name) or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(422, f"unknown time zone {name!r}",
                           {"timezone": ["not an IANA time zone name"]}) from None
    return name


def _consent(design: StudyDesign, consent: dict | None, locale: str) -> dict | None:
    """The consent record to store; the text hash pins the exact wording agreed to."""
    if consent is None:
        return None
    wanted = design.data["consent"]
    locale = _clean(consent.get("locale")) or locale
    errors = {}
    if _clean(consent.get("version")) != str(wanted["version"]):
        errors["consent.version"] = [f"the current consent version is {wanted['version']!r}"]
    text = wanted["text"].get(locale)
    if text is None:
        errors["consent.locale"] = [f"no consent text in {locale!r}"]
    if errors:
        raise ServiceError(422, "the consent does not match the study's consent text", errors)
    consented_at: datetime = consent.get("consented_at") or utcnow()
    if consented_at.tzinfo is None:
        raise ServiceError(422, "consented_at needs a time zone",
                           {"consent.consented_at": ["timezone-aware time required"]})
    return {"version": str(wanted["version"]), "locale": locale,
            "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "method": _clean(consent.get("method")) or "api", "consented_at": consented_at}


def participant_view(principal: Principal, study: Study, participant: Participant,
                     design: StudyDesign | None = None, *, with_link: bool = False) -> dict[str, Any]:
    """One participant as this caller may see them.

    Arm key and features only for callers who may see arms (else the arm code alone: the
    features name the arm); ``external_id`` only for those who enrol and coordinate;
    the sign-in ``link`` only with ``with_link`` (the enrolment answer), since whoever
    holds it can sign in as the participant.
    """
    design = design or design_of(study)
    row = participant.allocation
    arm = design.arms[row.arm_key]
    view = {
        "id": participant.id, "arm": blinding.arm_for(principal, study, arm), "arm_code": arm["code"],
        "enrolled_at": participant.enrolled_at.isoformat(), "stratum": row.stratum_key,
        "status": participant.status, "cluster": participant.cluster_key,
    }
    if blinding.can_see_arms(principal, study):
        view["features"] = arm["features"]
    if blinding.sees_external_ids(principal):
        view["external_id"] = participant.external_id
    if with_link:
        view["link"] = participant_link(participant)
    return view


def demo_enrolment(session: Session, study: Study, base_url: str, now: datetime | None = None) -> str:
    """Enrol a demo participant with the first level of every factor; return their link.

    The enrolment is back-dated (:func:`demo_enrolled_at`) so that a task is open at ``now``:
    a fresh enrolment's first task typically opens a day or more later.
    """
    design = design_of(study)
    strata = {f: levels[0] for f, levels in design.levels.items()}
    data = {"external_id": "demo-participant", "strata": strata,
            "cluster": "demo-therapist" if design.cluster_unit else None}
    now = now or utcnow()
    done = enrol(session, Principal(role="demo"), study, data, source="demo",
                 enrolled_at=demo_enrolled_at(design.data["homework"]["schedule"], now))
    return participant_link(done.participant, base_url=base_url)


def demo_enrolled_at(schedule: list, now: datetime, tz: str = "UTC") -> datetime:
    """The latest whole number of days before ``now`` at which an enrolment has a task to do
    now: open, else past due but still accepted (``now`` itself when none in 90 days does)."""
    for wanted in ("open", "due"):
        for days in range(91):
            at = now - timedelta(days=days)
            if any(instance_state(p, now) == wanted for p in plan_instances(schedule, at, tz)):
                return at
    return now


def get_participant(session: Session, principal: Principal, study: Study,
                    participant_id: int) -> Participant:
    """The participant, or 404 (also for a therapist asking about someone else's client)."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.study_id != study.id or not _may_see(principal, participant):
        raise ServiceError(404, f"no participant {participant_id} in study {study.key!r}")
    return participant


def _may_see(principal: Principal, participant: Participant) -> bool:
    if principal.role == "therapist":
        return participant.therapist_id == principal.user.id
    if principal.role == "participant":
        return principal.participant is not None and principal.participant.id == participant.id
    return True


def list_participants(session: Session, principal: Principal, study: Study,
                      filters: dict | None = None, *, offset: int = 0,
                      limit: int | None = None) -> list[Participant]:
    """Participants the caller may see, by id; ``filters`` as :func:`participants_query` takes."""
    query = participants_query(principal, study, filters or {}).order_by(Participant.id)
    return list(session.scalars(query.offset(offset).limit(limit)))


def count_participants(session: Session, principal: Principal, study: Study,
                       filters: dict | None = None) -> int:
    query = participants_query(principal, study, filters or {})
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def participants_query(principal: Principal, study: Study, filters: dict) -> sa.Select:
    """``status``, ``arm`` (arm key: only for callers who may see arms, else 403),
    ``enrolled_after`` and ``enrolled_before`` (aware datetimes, inclusive)."""
    query = sa.select(Participant).where(Participant.study_id == study.id)
    if principal.role == "therapist":
        query = query.where(Participant.therapist_id == principal.user.id)
    if filters.get("status") is not None:
        query = query.where(Participant.status == filters["status"])
    if filters.get("arm") is not None:
        if not blinding.can_see_arms(principal, study):
            raise ServiceError(403, "filtering by arm needs the right to see arms",
                               {"arm": ["not allowed while you are blinded"]})
        query = query.join(Allocation, Allocation.participant_id == Participant.id).where(
            Allocation.arm_key == filters["arm"])
    if filters.get("enrolled_after") is not None:
        query = query.where(Participant.enrolled_at >= filters["enrolled_after"])
    if filters.get("enrolled_before") is not None:
        query = query.where(Participant.enrolled_at <= filters["enrolled_before"])
    return query


def get_participant_by_external_id(session: Session, principal: Principal, study: Study,
                                   external_id: str) -> Participant:
    """The participant with the host's id, or 404 (also outside a therapist's own clients).

    Only for callers who may see external ids (:func:`blinding.sees_external_ids`): for
    anyone else a lookup would tell whether a known person is enrolled and hand over their
    record, so it answers 404 exactly like an id nobody has.
    """
    participant = find_participant(session, study, external_id) if blinding.sees_external_ids(principal) else None
    if participant is None or not _may_see(principal, participant):
        raise ServiceError(404, f"no participant with external_id {external_id!r} in study {study.key!r}")
    return participant


def participant_link(participant: Participant, base_url: str | None = None,
                     issued_at: datetime | None = None) -> str:
    """The participant's access link, signed as of ``issued_at`` (default: enrolment).

    Stamped with ``enrolled_at``, the link is part of the stored enrolment answer, so a
    replay answers identically; it expires ``HWTRIAL_PARTICIPANT_LINK_DAYS`` after
    enrolment, like a link issued then. :func:`reissue_link` stamps the time of issue.
    """
    config = current_app.config
    token = make_link_token(config["HWTRIAL_SECRET_KEY"], participant.id,
                            participant.link_generation, issued_at=issued_at or participant.enrolled_at)
    root = (base_url or config["HWTRIAL_PUBLIC_URL"] or _request_root()).rstrip("/")
    prefix = current_app.extensions["hwtrial"].url_prefix
    return f"{root}{prefix}/p/start?token={token}"


def reissue_link(session: Session, principal: Principal, study: Study, participant: Participant,
                 reason: str = "") -> dict[str, Any]:
    """Revoke every link issued so far (and the sessions opened with them); return a new one.

    For a lost or leaked link: bumping ``link_generation`` makes old links fail as
    ``revoked``, and the participant's open browser sessions end, so whoever used a leaked
    link is signed out too. The new link is valid ``HWTRIAL_PARTICIPANT_LINK_DAYS`` from now.
    A withdrawn participant gets none (409): withdrawal ends access, so the link would not work.
    """
    require_enrol_right(principal)
    if participant.status != "active":
        raise ServiceError(409, "the participant has withdrawn; no link would work",
                           {"participant": ["withdrawn"]})
    now = _revoke_links(session, principal, study, participant, "participant.link_reissue", reason)
    days = current_app.config["HWTRIAL_PARTICIPANT_LINK_DAYS"]
    return {"participant_id": participant.id, "link": participant_link(participant, issued_at=now),
            "link_generation": participant.link_generation, "issued_at": now,
            "expires_at": now + timedelta(days=days)}


def revoke_link(session: Session, principal: Principal, study: Study, participant: Participant,
                reason: str = "") -> int:
    """Revoke every link issued so far and end the sessions opened with them, issuing none.

    For a link handed to the wrong person when no new one should exist yet; a later
    :func:`reissue_link` gives the participant access again. Returns the new link generation.
    """
    _revoke_links(session, principal, study, participant, "participant.link_revoke", reason)
    return participant.link_generation


def _revoke_links(session: Session, principal: Principal, study: Study, participant: Participant,
                  action: str, reason: str) -> datetime:
    require_enrol_right(principal)
    now = utcnow()
    participant.link_generation += 1
    closed = session.execute(
        sa.update(WebSession).where(WebSession.participant_id == participant.id,
                                    WebSession.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount or 0
    session.flush()
    audit.record(session, actor=principal.actor, action=action,
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"link_generation": participant.link_generation, "sessions_closed": closed},
                 reason=reason.strip() or None)
    return now


def _request_root() -> str:
    """Without HWTRIAL_PUBLIC_URL, links point at the host the request came to."""
    from flask import has_request_context, request

    return request.host_url if has_request_context() else "http://127.0.0.1:5000"
