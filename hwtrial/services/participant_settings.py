"""The participant's own language and time zone, chosen on their pages.

A time zone decides when "19:00 local" homework opens and when reminders go out, so a
change re-plans the participant's homework that has not opened yet
(:func:`hwtrial.services.homework.generate_instances`) and their pending reminders (the
reminder planner's own functions, :mod:`hwtrial.reminders.queueing`). Both changes are audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import Participant, Study
from . import audit, homework
from .participant_guard import require_writable

#: Stored before any choice was made (enrolment without a time zone): the browser's may replace it.
UNSET_TIMEZONE = "UTC"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def valid_timezone(name: str | None) -> str | None:
    """``name`` when it is an IANA zone name (as browsers report them), else None."""
    name = (name or "").strip()
    return name if len(name) <= 64 and name in _zones() else None


def common_timezones(extra: str | None = None) -> list[str]:
    """The zones offered in the settings form: region/city names, UTC first, ``extra`` kept."""
    zones = sorted(z for z in _zones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))
    if extra and extra not in zones:
        zones.insert(0, extra)
    return ["UTC", *[z for z in zones if z != "UTC"]]


def set_locale(session: Session, participant: Participant, study: Study, definition: Mapping[str, Any],
               locale: str) -> Participant:
    """Store the participant's language (one of the study's locales; 422 otherwise)."""
    if participant.status != "active":
        raise ServiceError(409, "you have left the study; nothing more is stored", {"participant": ["withdrawn"]})
    offered = definition.get("locales") or [definition.get("default_locale") or "en"]
    if locale not in offered:
        raise ServiceError(422, f"locale {locale!r} is not offered", {"locale": [f"one of {', '.join(offered)}"]})
    if participant.locale != locale:
        audit.record(session, actor=f"participant:{participant.id}", action="participant.locale",
                     target=f"participant:{participant.id}", study_key=study.key,
                     before={"locale": participant.locale}, after={"locale": locale})
        participant.locale = locale
        session.flush()
    return participant


def set_timezone(session: Session, participant: Participant, study: Study, definition: Mapping[str, Any],
                 name: str, now: datetime, *, via: str = "settings", consent: bool = True) -> dict[str, int]:
    """Store the participant's time zone and re-plan what depends on it.

    Returns ``{"homework_updated", "reminders_queued", "reminders_cancelled"}``.
    """
    require_writable(session, participant, definition, consent=consent)
    zone = valid_timezone(name)
    if zone is None:
        raise ServiceError(422, f"unknown time zone {name!r}", {"timezone": ["not an IANA time zone name"]})
    counts = {"homework_updated": 0, "reminders_queued": 0, "reminders_cancelled": 0}
    if zone == participant.timezone:
        return counts
    audit.record(session, actor=f"participant:{participant.id}", action="participant.timezone",
                 target=f"participant:{participant.id}", study_key=study.key,
                 before={"timezone": participant.timezone}, after={"timezone": zone, "via": via})
    participant.timezone = zone
    session.flush()
    counts["homework_updated"] = homework.generate_instances(session, participant, definition, now)["updated"]
    session.flush()
    counts.update(replan_reminders(session, participant, study, definition, now))
    return counts


def adopt_browser_timezone(session: Session, participant: Participant, study: Study,
                           definition: Mapping[str, Any], name: str | None, now: datetime) -> bool:
    """At consent: take the browser's zone if none was set at enrolment. True if it was taken."""
    zone = valid_timezone(name)
    if zone is None or participant.timezone != UNSET_TIMEZONE or zone == UNSET_TIMEZONE:
        return False
    set_timezone(session, participant, study, definition, zone, now, via="browser", consent=False)
    return True


def replan_reminders(session: Session, participant: Participant, study: Study,
                     definition: Mapping[str, Any], now: datetime) -> dict[str, int]:
    """Queue the participant's reminders at their new times and cancel the stale pending ones.

    The same steps as one participant of :func:`hwtrial.reminders.queueing.queue_reminders`,
    so the next worker pass finds nothing left to change; the plan reaches as far as the
    latest reminder already queued, so none at an old-zone time is left pending.
    """
    import sqlalchemy as sa

    from ..models import OutboxMessage
    from ..reminders import queueing

    policies = queueing.reminder_policies(definition)
    arm = participant.allocation
    policy = policies.get(arm.arm_key) if arm is not None else None
    if policy is None or study.status != "active":
        return {"reminders_queued": 0, "reminders_cancelled": 0}
    webhook_url = ((definition.get("notifications") or {}).get("webhook") or {}).get("url")
    latest = session.scalar(sa.select(sa.func.max(OutboxMessage.due_at)).where(
        OutboxMessage.participant_id == participant.id, OutboxMessage.status == "pending",
        OutboxMessage.dedupe_key.like("reminder:%")))
    end = max(now + queueing.HORIZON, latest + timedelta(minutes=1) if latest is not None else now)
    windows = queueing.task_windows(session, [participant.id], now).get(participant.id, [])
    plan = queueing.participant_plan(policy, participant, windows, now, end, webhook_url)
    return {"reminders_queued": queueing.insert_new(session, list(plan.values())),
            "reminders_cancelled": queueing.cancel_stale(session, participant.id, set(plan), now, end)}
