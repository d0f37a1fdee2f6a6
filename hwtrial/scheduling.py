"""Homework and questionnaire timing: local wall-clock plans turned into UTC instants.

Pure: no Flask, no database, and the clock is never read (``now`` is an argument).

Conventions
-----------
* Every datetime going in or out is timezone-aware; naive datetimes raise ``ValueError``.
  Results are in UTC.
* Days are counted on the participant's *local* calendar: ``start_day = 0`` is the local
  date on which the participant enrolled, whatever the UTC date was.
* A local wall time is converted with :func:`localize`: a time that does not exist (spring
  forward) moves forward by the length of the gap (02:30 becomes 03:30 in New York); an
  ambiguous time (fall back) takes its first occurrence (``fold=0``).
* ``open_before_hours``, ``due_after_hours`` and ``expire_after_hours`` are elapsed hours
  (absolute durations), so "due 24 h later" is 24 real hours even across a DST change;
  only the scheduled wall time itself is kept constant.
* Quiet hours are a half-open local interval ``[start, end)`` and may cross midnight.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "PlannedInstance",
    "TimepointWindow",
    "instance_state",
    "is_late",
    "local_time_ok",
    "localize",
    "next_allowed",
    "parse_hhmm",
    "plan_instances",
    "timepoint_windows",
    "zone",
]

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_MIDNIGHT = time(0, 0)


@dataclass(frozen=True)
class PlannedInstance:
    """One planned homework instance.

    Attributes
    ----------
    template : str
        Key of the homework template.
    occurrence : int
        1-based occurrence number within its schedule entry.
    slot_key : str
        ``"{template}#{schedule_index}#{occurrence}"``; stable across re-planning, so a
        regenerated plan can be matched row by row (idempotent upsert).
    local_date : datetime.date
        Participant-local calendar date of the instance.
    open_at, scheduled_at, due_at, expire_at : datetime.datetime
        UTC instants: becomes available, nominal time, due, no longer accepted.
    """

    template: str
    occurrence: int
    slot_key: str
    local_date: date
    open_at: datetime
    scheduled_at: datetime
    due_at: datetime
    expire_at: datetime


@dataclass(frozen=True)
class TimepointWindow:
    """Assessment window of one questionnaire timepoint.

    Attributes
    ----------
    key : str
        Timepoint key.
    opens_at : datetime.datetime
        UTC instant of local midnight starting day ``day - window_before_days``.
    target_at : datetime.datetime
        UTC instant of local midnight starting the target day ``day``.
    closes_at : datetime.datetime
        UTC instant of local midnight *after* day ``day + window_after_days``
        (exclusive end: the whole last day is inside the window).
    """

    key: str
    opens_at: datetime
    target_at: datetime
    closes_at: datetime


def zone(tz: str) -> ZoneInfo:
    """Return the IANA zone ``tz``; raise ``ValueError`` naming it when unknown."""
    if not isinstance(tz, str) or not tz:
        raise ValueError(f"unknown time zone {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {dt!r}")
    return dt


def parse_hhmm(value: str, name: str = "time") -> time:
    """Parse ``"HH:MM"`` (24 h); raise ``ValueError`` naming ``name`` otherwise."""
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{name} must be 'HH:MM' (00:00-23:59), got {value!r}")
    return time(int(match[1]), int(match[2]))


def localize(day: date, at: time, tz: ZoneInfo) -> datetime:
    """UTC instant of local wall time ``at`` on ``day`` in ``tz``.

    Relies on PEP 495: with ``fold=0`` an ambiguous time maps to its first occurrence, and a
    time inside a gap is read with the pre-transition offset, which lands exactly "gap
    length later" on the wall clock (02:30 in a 02:00->03:00 gap becomes 03:30).
    """
    local = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    return local.astimezone(UTC)


def _number(entry: Mapping[str, Any], key: str, where: str, default: Any = None) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{where}.{key} must be a non-negative number, got {value!r}")
    return float(value)


def _int(mapping: Mapping[str, Any], key: str, where: str, default: Any, low: int) -> int:
    value = mapping.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{where}.{key} must be an integer >= {low}, got {value!r}")
    return value


def _entry_instances(
    index: int, entry: Mapping[str, Any], enrol_day: date, tz: ZoneInfo
) -> list[PlannedInstance]:
    where = f"schedule[{index}]"
    template = entry.get("template")
    if not isinstance(template, str) or not template:
        raise ValueError(f"{where}.template must be a non-empty string, got {template!r}")
    start_day = _int(entry, "start_day", where, None, 0)
    at = parse_hhmm(entry.get("time"), f"{where}.time")
    repeat = entry.get("repeat") or {}
    every = _int(repeat, "every_days", f"{where}.repeat", 1, 1)
    count = _int(repeat, "count", f"{where}.repeat", 1, 1)
    before = timedelta(hours=_number(entry, "open_before_hours", where, 0))
    due = _number(entry, "due_after_hours", where)
    expire = _number(entry, "expire_after_hours", where, due)
    if expire < due:
        raise ValueError(f"{where}.expire_after_hours ({expire}) must be >= due_after_hours ({due})")
    out = []
    for occurrence in range(1, count + 1):
        day = enrol_day + timedelta(days=start_day + (occurrence - 1) * every)
        scheduled = localize(day, at, tz)
        out.append(
            PlannedInstance(
                template=template,
                occurrence=occurrence,
                slot_key=f"{template}#{index}#{occurrence}",
                local_date=day,
                open_at=scheduled - before,
                scheduled_at=scheduled,
                due_at=scheduled + timedelta(hours=due),
                expire_at=scheduled + timedelta(hours=expire),
            )
        )
    return out


def plan_instances(
    schedule: Sequence[Mapping[str, Any]], enrolled_at: datetime, tz: str
) -> list[PlannedInstance]:
    """Plan every homework instance of a participant.

    Parameters
    ----------
    schedule : list of dict
        ``homework.schedule`` entries (see module docstring for the time conventions).
    enrolled_at : datetime.datetime
        Aware enrolment instant; its local date in ``tz`` is day 0.
    tz : str
        Participant's IANA time zone.

    Returns
    -------
    list of PlannedInstance
        Sorted by ``scheduled_at`` then ``slot_key``. Instances whose times fall before
        ``enrolled_at`` (e.g. a 09:00 day-0 slot for a 15:00 enrolment) are kept; whether
        to offer them is the caller's policy (see :func:`instance_state`).

    Raises
    ------
    ValueError
        Unknown time zone, naive ``enrolled_at`` or an invalid schedule entry (the message
        names the entry and option).
    """
    zi = zone(tz)
    enrol_day = _aware(enrolled_at, "enrolled_at").astimezone(zi).date()
    planned = [
        inst
        for index, entry in enumerate(schedule)
        for inst in _entry_instances(index, entry, enrol_day, zi)
    ]
    return sorted(planned, key=lambda p: (p.scheduled_at, p.slot_key))


def timepoint_windows(
    timepoints: Sequence[Mapping[str, Any]], enrolled_at: datetime, tz: str
) -> list[TimepointWindow]:
    """Assessment windows of questionnaire timepoints, whole local days.

    Parameters
    ----------
    timepoints : list of dict
        ``questionnaires.timepoints`` entries: ``key``, ``day`` (may be 0, not negative),
        ``window_before_days``, ``window_after_days``.
    enrolled_at : datetime.datetime
        Aware enrolment instant; its local date is day 0.
    tz : str
        Participant's IANA time zone.

    Returns
    -------
    list of TimepointWindow
        In input order.
    """
    zi = zone(tz)
    enrol_day = _aware(enrolled_at, "enrolled_at").astimezone(zi).date()
    out = []
    for index, tp in enumerate(timepoints):
        where = f"timepoints[{index}]"
        day = _int(tp, "day", where, None, 0)
        before = _int(tp, "window_before_days", where, 0, 0)
        after = _int(tp, "window_after_days", where, 0, 0)
        target = enrol_day + timedelta(days=day)
        out.append(
            TimepointWindow(
                key=tp.get("key"),
                opens_at=localize(target - timedelta(days=before), _MIDNIGHT, zi),
                target_at=localize(target, _MIDNIGHT, zi),
                closes_at=localize(target + timedelta(days=after + 1), _MIDNIGHT, zi),
            )
        )
    return out


def _quiet(quiet_hours: Sequence[str] | Mapping[str, str] | None) -> tuple[time, time] | None:
    if quiet_hours is None:
        return None
    if isinstance(quiet_hours, Mapping):
        quiet_hours = (quiet_hours.get("start"), quiet_hours.get("end"))
    if len(quiet_hours) != 2:
        raise ValueError(f"quiet_hours must be (start, end), got {quiet_hours!r}")
    start = parse_hhmm(quiet_hours[0], "quiet_hours.start")
    end = parse_hhmm(quiet_hours[1], "quiet_hours.end")
    if start == end:
        # An empty and a 24-hour quiet period are spelled the same way: refuse to guess.
        raise ValueError(f"quiet_hours start and end must differ, got {quiet_hours!r}")
    return start, end


def _in_quiet(t: time, start: time, end: time) -> bool:
    if start < end:
        return start <= t < end
    return t >= start or t < end  # crosses midnight


def local_time_ok(
    dt_utc: datetime, tz: str, quiet_hours: Sequence[str] | Mapping[str, str] | None
) -> bool:
    """True when ``dt_utc`` is outside the participant's quiet hours.

    Parameters
    ----------
    dt_utc : datetime.datetime
        Aware instant.
    tz : str
        Participant's IANA time zone.
    quiet_hours : (str, str) or {"start": str, "end": str} or None
        Local ``"HH:MM"`` bounds of ``[start, end)``; may cross midnight
        (``("22:00", "08:00")``). ``None`` means no quiet hours.
    """
    bounds = _quiet(quiet_hours)
    local = _aware(dt_utc, "dt_utc").astimezone(zone(tz))
    return bounds is None or not _in_quiet(local.time(), *bounds)


def next_allowed(
    dt_utc: datetime, tz: str, quiet_hours: Sequence[str] | Mapping[str, str] | None
) -> datetime:
    """Earliest instant at or after ``dt_utc`` that is outside quiet hours (UTC).

    The end of the quiet period is a local wall time and is converted with
    :func:`localize`, so a quiet period ending inside a DST gap ends gap-length later.
    """
    bounds = _quiet(quiet_hours)
    zi = zone(tz)
    local = _aware(dt_utc, "dt_utc").astimezone(zi)
    if bounds is None or not _in_quiet(local.time(), *bounds):
        return dt_utc.astimezone(UTC)
    start, end = bounds
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)  # in the evening part of an overnight quiet period
    return localize(day, end, zi)


def _times(row: Any) -> tuple[datetime, datetime, datetime]:
    if isinstance(row, Mapping):
        values = (row["open_at"], row["due_at"], row["expire_at"])
    else:
        values = (row.open_at, row.due_at, row.expire_at)
    names = ("open_at", "due_at", "expire_at")
    return tuple(_aware(v, n) for v, n in zip(values, names, strict=True))  # type: ignore[return-value]


def instance_state(planned_or_row_times: Any, now: datetime) -> str:
    """State of an instance at ``now``.

    Parameters
    ----------
    planned_or_row_times : PlannedInstance, model row or mapping
        Anything with aware ``open_at``, ``due_at`` and ``expire_at`` (attributes or keys).
    now : datetime.datetime
        Aware current instant (passed in, never read).

    Returns
    -------
    str
        ``"scheduled"`` before ``open_at``; ``"open"`` in ``[open_at, due_at)``; ``"due"``
        (past due, late submissions still accepted) in ``[due_at, expire_at)``;
        ``"expired"`` from ``expire_at`` on. Submission status is not considered here.
    """
    open_at, due_at, expire_at = _times(planned_or_row_times)
    now = _aware(now, "now")
    if now < open_at:
        return "scheduled"
    if now < due_at:
        return "open"
    if now < expire_at:
        return "due"
    return "expired"


def is_late(submitted_at: datetime, due_at: datetime) -> bool:
    """True when ``submitted_at`` is strictly after ``due_at`` (on time at the due instant)."""
    return _aware(submitted_at, "submitted_at") > _aware(due_at, "due_at")
