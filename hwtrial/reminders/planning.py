"""PURE: when a participant's reminders go out, in their own time zone.

Two kinds of reminder come from an arm's ``reminders`` feature (policy ``fixed``):

- ``times`` on ``days``: each local wall time on each allowed weekday, sent only while a
  homework task is open or due and not yet submitted (the reminder is about that task);
- ``relative_to_due_hours``: ``due_at + h`` for each task, e.g. ``-24`` a day before it is due,
  sent only inside the task's ``[open_at, expire_at)`` window.

Wall times use :func:`hwtrial.scheduling.localize`: 09:00 stays 09:00 local across daylight
saving; a time that does not exist on a spring-forward day is sent gap-length later (02:30 in a
02:00→03:00 gap goes out at 03:30) and a time that occurs twice on a fall-back day is sent at
its first occurrence: one send, never two, never none. A fixed time inside quiet hours is not
sent (the coordinator chose a time the participant asked not to be disturbed at); a relative
reminder that falls in quiet hours moves to their end, if the task is still open then.
``availability.max_per_day`` keeps the earliest reminders of a local day. The clock is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..scheduling import _in_quiet, _quiet, localize, next_allowed, parse_hhmm, zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TaskWindow:
    """One homework instance as the planner sees it (aware UTC times)."""

    instance_id: int
    open_at: datetime
    due_at: datetime
    expire_at: datetime
    #: Submitted tasks get no more reminders.
    submitted: bool = False
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder to queue: ``slot`` is unique for the participant, so planning twice
    (a restart, a re-plan) cannot queue it twice."""

    slot: str
    #: When to send (UTC).
    send_at: datetime
    #: The task the reminder is about.
    instance_id: int
    #: The participant's wall time at ``send_at`` (ISO 8601 with offset), for the log.
    local_time: str


def plan_reminders(policy: Mapping[str, Any], tasks: Sequence[TaskWindow], tz: str,
                   start: datetime, end: datetime) -> list[PlannedReminder]:
    """Every reminder of ``policy`` to send in ``[start, end)``, ordered by time.

    Parameters
    ----------
    policy : mapping
        The arm's ``reminders`` feature. Policies other than ``fixed`` plan nothing here.
    tasks : sequence of TaskWindow
        The participant's homework instances.
    tz : str
        The participant's IANA time zone.
    start, end : datetime
        Aware UTC bounds of the planning horizon (``start`` is usually "now").
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if policy.get("policy") != "fixed":
        return []
    zi = zone(tz)
    open_tasks = sorted((t for t in tasks if not t.submitted), key=lambda t: (t.due_at, t.instance_id))
    quiet = policy.get("quiet_hours")
    planned = _fixed_times(policy, open_tasks, zi, quiet, start, end)
    planned += _relative_to_due(policy, open_tasks, tz, quiet, start, end)
    planned.sort(key=lambda r: (r.send_at, r.slot))
    return _cap_per_day(planned, zi, (policy.get("availability") or {}).get("max_per_day"))


def _local(at: datetime, zi) -> str:
    return at.astimezone(zi).isoformat(timespec="minutes")


def _task_at(tasks: Sequence[TaskWindow], at: datetime) -> TaskWindow | None:
    """The open task due soonest at ``at``."""
    return next((t for t in tasks if t.open_at <= at < t.expire_at), None)


def _fixed_times(policy, tasks, zi, quiet, start, end) -> list[PlannedReminder]:
    times = [parse_hhmm(t, "reminders.times") for t in policy.get("times") or []]
    if not times or not tasks:
        return []
    days = set(policy.get("days") or WEEKDAYS)
    bounds = _quiet(quiet)
    planned = []
    day: date = start.astimezone(zi).date()
    while day <= end.astimezone(zi).date():
        if WEEKDAYS[day.weekday()] in days:
            for at in times:
                send_at = localize(day, at, zi)
                if not start <= send_at < end or (bounds and _in_quiet(at, *bounds)):
                    continue
                task = _task_at(tasks, send_at)
                if task is not None:
                    planned.append(PlannedReminder(f"fixed:{day.isoformat()}T{at:%H:%M}", send_at,
                                                   task.instance_id, _local(send_at, zi)))
        day += timedelta(days=1)
    return planned


def _relative_to_due(policy, tasks, tz, quiet, start, end) -> list[PlannedReminder]:
    planned = []
    zi = zone(tz)
    for hours in policy.get("relative_to_due_hours") or []:
        for task in tasks:
            send_at = next_allowed(task.due_at + timedelta(hours=float(hours)), tz, quiet)
            if start <= send_at < end and task.open_at <= send_at < task.expire_at:
                planned.append(PlannedReminder(f"due{float(hours):+g}h:{task.instance_id}",
                                               send_at.astimezone(UTC), task.instance_id,
                                               _local(send_at, zi)))
    return planned


def _cap_per_day(planned: list[PlannedReminder], zi, max_per_day: int | None) -> list[PlannedReminder]:
    if not max_per_day:
        return planned
    kept, per_day = [], {}
    for reminder in planned:
        day = reminder.send_at.astimezone(zi).date()
        if per_day.get(day, 0) < max_per_day:
            per_day[day] = per_day.get(day, 0) + 1
            kept.append(reminder)
    return kept


@dataclass(frozen=True)
class DecisionTime:
    """One micro-randomised decision point of a participant."""

    #: ``study day * len(times) + position of the time``: stable, and the seed derivation's input.
    index: int
    #: Day in study (0 = the local day of enrolment), the time control of the WCLS analysis.
    day: int
    at: datetime
    local_time: str


def decision_times(policy: Mapping[str, Any], tz: str, enrolled_at: datetime,
                   start: datetime, end: datetime) -> list[DecisionTime]:
    """The decision points of ``policy["decision_points"]["times"]`` in ``[start, end)``, none
    before enrolment. Wall times follow :func:`localize` (see the module docstring)."""
    times = [parse_hhmm(t, "decision_points.times") for t in (policy.get("decision_points") or {}).get("times", [])]
    zi = zone(tz)
    first_day = enrolled_at.astimezone(zi).date()
    day = max(first_day, start.astimezone(zi).date())
    points = []
    while day <= end.astimezone(zi).date():
        for position, at in enumerate(times):
            when = localize(day, at, zi)
            if enrolled_at <= when and start <= when < end:
                study_day = (day - first_day).days
                points.append(DecisionTime(study_day * len(times) + position, study_day, when, _local(when, zi)))
        day += timedelta(days=1)
    return points


def availability(policy: Mapping[str, Any], point: DecisionTime, tz: str, tasks: Sequence[TaskWindow],
                 submitted_today: bool, treated_today: int) -> str | None:
    """Why the participant is *not* available at ``point`` (no draw is then made), or None.

    Unavailable: in quiet hours; no homework task open; the day's task already done (with
    ``availability.skip_if_completed_today``); ``availability.max_per_day`` treatments reached.
    """
    rules = policy.get("availability") or {}
    bounds = _quiet(policy.get("quiet_hours"))
    if bounds and _in_quiet(point.at.astimezone(zone(tz)).time(), *bounds):
        return "quiet_hours"
    if rules.get("skip_if_completed_today") and submitted_today:
        return "completed_today"
    if rules.get("max_per_day") and treated_today >= rules["max_per_day"]:
        return "daily_maximum"
    if _task_at([t for t in tasks if not t.submitted], point.at) is None:
        return "no_open_task"
    return None
