"""Reminder planning in the participant's time zone: wall times across daylight saving (one
send on a spring-forward and on a fall-back day, never two, never none), quiet hours across
midnight, relative reminders inside the task window, no reminder for a submitted task."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hwtrial.reminders.planning import TaskWindow, plan_reminders


def task(open_at, due_at, expire_at, instance_id=1, submitted=False):
    return TaskWindow(instance_id, open_at, due_at, expire_at, submitted)


def long_task(start: datetime, days: int = 10) -> TaskWindow:
    return task(start, start + timedelta(days=days - 1), start + timedelta(days=days))


def local(tz: str, day: date, at: str) -> datetime:
    hour, minute = map(int, at.split(":"))
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


# (zone, spring-forward day, a wall time in its gap, what it becomes, fall-back day, a doubled wall time)
DST_DAYS = [
    ("Europe/London", date(2026, 3, 29), "01:30", time(2, 30), date(2026, 10, 25), "01:30"),
    ("America/New_York", date(2026, 3, 8), "02:30", time(3, 30), date(2026, 11, 1), "01:30"),
    ("Australia/Sydney", date(2026, 10, 4), "02:30", time(3, 30), date(2026, 4, 5), "02:30"),
]


@pytest.mark.parametrize(("tz", "spring", "gap", "shifted", "fall", "doubled"), DST_DAYS)
def test_nine_o_clock_stays_nine_o_clock_across_both_transitions(tz, spring, gap, shifted, fall, doubled):
    for day in (spring, fall):
        start = local(tz, day - timedelta(days=2), "00:00")
        plan = plan_reminders({"policy": "fixed", "times": ["09:00"]}, [long_task(start)], tz,
                              start, start + timedelta(days=5))
        walls = [r.send_at.astimezone(ZoneInfo(tz)) for r in plan]
        assert [w.time() for w in walls] == [time(9, 0)] * 5
        assert len({w.date() for w in walls}) == 5
        assert any(w.date() == day for w in walls)


@pytest.mark.parametrize(("tz", "spring", "gap", "shifted", "fall", "doubled"), DST_DAYS)
def test_a_missing_and_a_doubled_wall_time_each_send_once(tz, spring, gap, shifted, fall, doubled):
    zi = ZoneInfo(tz)
    for day, at, expected_wall in ((spring, gap, shifted), (fall, doubled, time(*map(int, doubled.split(":"))))):
        start = local(tz, day, "00:00") - timedelta(hours=1)
        plan = plan_reminders({"policy": "fixed", "times": [at]}, [long_task(start - timedelta(days=1))],
                              tz, start, start + timedelta(hours=20))
        assert len(plan) == 1, plan
        wall = plan[0].send_at.astimezone(zi)
        assert (wall.date(), wall.time()) == (day, expected_wall)
        if day == fall:  # the first of the two occurrences: the later one is an hour on
            assert plan[0].send_at + timedelta(hours=1) == \
                datetime.combine(day, expected_wall, tzinfo=zi).replace(fold=1).astimezone(UTC)


def test_days_and_quiet_hours_that_cross_midnight():
    tz = "Europe/London"
    start = local(tz, date(2026, 6, 1), "00:00")  # a Monday
    policy = {"policy": "fixed", "times": ["06:30", "18:30", "23:15"], "days": ["mon", "thu"],
              "quiet_hours": {"start": "22:00", "end": "07:00"}}
    plan = plan_reminders(policy, [long_task(start)], tz, start, start + timedelta(days=7))
    walls = [(r.send_at.astimezone(ZoneInfo(tz)).strftime("%a %H:%M")) for r in plan]
    assert walls == ["Mon 18:30", "Thu 18:30"]


def test_relative_reminder_moves_out_of_quiet_hours_and_stays_in_the_window():
    tz = "America/New_York"
    open_at = local(tz, date(2026, 6, 1), "19:00")
    due_at = local(tz, date(2026, 6, 3), "01:00")  # -24 h is 01:00 on the 2nd: quiet
    plan = plan_reminders({"policy": "fixed", "relative_to_due_hours": [-24, -1],
                           "quiet_hours": {"start": "22:00", "end": "07:00"}},
                          [task(open_at, due_at, due_at + timedelta(hours=3), instance_id=7)], tz,
                          open_at - timedelta(days=1), due_at + timedelta(days=2))
    # -24 h (01:00) moves to the end of quiet hours; -1 h (00:00) would move to 07:00, after
    # the task expires at 04:00, so it is not sent
    assert [(r.slot, r.local_time) for r in plan] == [("due-24h:7", "2026-06-02T07:00-04:00")]


def test_no_reminder_for_a_submitted_task_or_outside_any_window():
    tz = "Europe/London"
    start = local(tz, date(2026, 6, 1), "00:00")
    open_task = task(start + timedelta(days=2), start + timedelta(days=3), start + timedelta(days=4), 1)
    done_task = task(start, start + timedelta(days=1), start + timedelta(days=2), 2, submitted=True)
    plan = plan_reminders({"policy": "fixed", "times": ["12:00"]}, [open_task, done_task], tz,
                          start, start + timedelta(days=7))
    assert [r.local_time[:10] for r in plan] == ["2026-06-03", "2026-06-04"]
    assert {r.instance_id for r in plan} == {1}


def test_max_per_day_keeps_the_earliest_and_other_policies_plan_nothing():
    tz = "Europe/London"
    start = local(tz, date(2026, 6, 1), "00:00")
    policy = {"policy": "fixed", "times": ["09:00", "13:00", "17:00"], "availability": {"max_per_day": 2}}
    plan = plan_reminders(policy, [long_task(start, 2)], tz, start, start + timedelta(days=1))
    assert [r.local_time[11:16] for r in plan] == ["09:00", "13:00"]
    assert plan_reminders({"policy": "none"}, [long_task(start)], tz, start, start + timedelta(days=3)) == []
    assert plan_reminders({"policy": "micro_randomised"}, [long_task(start)], tz, start,
                          start + timedelta(days=3)) == []


def test_slots_are_stable_when_planned_again_later():
    tz = "Australia/Sydney"
    start = local(tz, date(2026, 6, 1), "00:00")
    policy = {"policy": "fixed", "times": ["09:00"], "relative_to_due_hours": [-24]}
    tasks = [long_task(start, 5)]
    first = plan_reminders(policy, tasks, tz, start, start + timedelta(days=5))
    again = plan_reminders(policy, tasks, tz, start + timedelta(days=1), start + timedelta(days=5))
    assert {r.slot for r in again} < {r.slot for r in first}
    assert len({r.slot for r in first}) == len(first)
