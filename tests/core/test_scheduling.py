"""Scheduling: local wall times, DST, windows, quiet hours, states.

Expected instants are written out by hand from the published transition rules
(US: second Sunday of March 02:00 -> 03:00, first Sunday of November 02:00 -> 01:00;
EU: last Sunday of March 01:00 UTC, last Sunday of October 01:00 UTC), not recomputed
with zoneinfo, so a wrong conversion cannot agree with itself.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwtrial.scheduling import (
    PlannedInstance,
    instance_state,
    is_late,
    local_time_ok,
    next_allowed,
    plan_instances,
    timepoint_windows,
)

NY = "America/New_York"
LONDON = "Europe/London"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def entry(**kw):
    base = {"template": "tr", "start_day": 0, "time": "09:00", "due_after_hours": 24}
    return base | kw


def only(schedule, enrolled_at, tz):
    (inst,) = plan_instances(schedule, enrolled_at, tz)
    return inst


# --- DST --------------------------------------------------------------------------------


def test_ny_spring_forward_gap_moves_forward_by_the_gap():
    # 2026-03-07 15:00 EST = 20:00Z; day 1 is 2026-03-08, 02:30 does not exist there.
    inst = only([entry(start_day=1, time="02:30")], utc(2026, 3, 7, 20), NY)
    assert inst.local_date == date(2026, 3, 8)
    assert inst.scheduled_at == utc(2026, 3, 8, 7, 30)  # 03:30 EDT (-4)
    assert inst.scheduled_at.astimezone(ZoneInfo(NY)).time() == time(3, 30)


def test_ny_fall_back_ambiguous_takes_first_occurrence():
    inst = only([entry(start_day=1, time="01:30")], utc(2026, 10, 31, 16), NY)
    assert inst.scheduled_at == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 06:30Z (EST)


def test_london_spring_forward_and_fall_back():
    spring = only([entry(start_day=1, time="01:30")], utc(2026, 3, 28, 12), LONDON)
    assert spring.scheduled_at == utc(2026, 3, 29, 1, 30)  # 02:30 BST
    autumn = only([entry(start_day=1, time="01:30")], utc(2026, 10, 24, 12), LONDON)
    assert autumn.scheduled_at == utc(2026, 10, 25, 0, 30)  # first 01:30, still BST


def test_weekly_recurrence_across_dst_keeps_local_wall_time():
    sched = [entry(time="19:00", repeat={"every_days": 7, "count": 4})]
    plan = plan_instances(sched, utc(2026, 2, 25, 15), NY)  # Wednesday
    assert [p.local_date for p in plan] == [
        date(2026, 2, 25), date(2026, 3, 4), date(2026, 3, 11), date(2026, 3, 18)
    ]
    assert [p.scheduled_at for p in plan] == [
        utc(2026, 2, 26, 0), utc(2026, 3, 5, 0),  # 19:00 EST
        utc(2026, 3, 11, 23), utc(2026, 3, 18, 23),  # 19:00 EDT
    ]
    assert [p.occurrence for p in plan] == [1, 2, 3, 4]


def test_offsets_are_elapsed_hours_across_dst():
    sched = [entry(time="20:00", open_before_hours=2, due_after_hours=24, expire_after_hours=48)]
    inst = only(sched, utc(2026, 3, 7, 15), NY)
    assert inst.scheduled_at == utc(2026, 3, 8, 1)  # Sat 20:00 EST
    assert inst.open_at == utc(2026, 3, 7, 23)
    assert inst.due_at == utc(2026, 3, 9, 1)  # 24 real hours: Sun 21:00 EDT on the wall
    assert inst.expire_at == utc(2026, 3, 10, 1)


# --- day counting ------------------------------------------------------------------------


def test_enrolment_just_before_local_midnight_counts_the_local_day():
    # 03:50Z on 10 June is 23:50 EDT on 9 June: day 0 is 9 June locally.
    plan = plan_instances(
        [entry(start_day=0), entry(template="ba", start_day=1)], utc(2026, 6, 10, 3, 50), NY
    )
    assert [(p.template, p.local_date) for p in plan] == [
        ("tr", date(2026, 6, 9)), ("ba", date(2026, 6, 10))
    ]
    assert plan[0].scheduled_at == utc(2026, 6, 9, 13)  # before enrolment: kept, caller decides


def test_enrolment_just_after_local_midnight_east_of_utc():
    # 12:30Z on 9 June is 00:30 NZST (+12) on 10 June.
    inst = only([entry()], utc(2026, 6, 9, 12, 30), "Pacific/Auckland")
    assert inst.local_date == date(2026, 6, 10)
    assert inst.scheduled_at == utc(2026, 6, 9, 21)


def test_regeneration_is_idempotent_and_amendment_keeps_old_slots():
    sched = [entry(repeat={"every_days": 2, "count": 3}), entry(template="ba", start_day=3)]
    first = plan_instances(sched, utc(2026, 5, 1, 12), LONDON)
    again = plan_instances(sched, utc(2026, 5, 1, 12), LONDON)
    assert first == again
    assert [p.slot_key for p in first] == ["tr#0#1", "tr#0#2", "ba#1#1", "tr#0#3"]
    amended = plan_instances(sched + [entry(template="fr", start_day=2)], utc(2026, 5, 1, 12), LONDON)
    old = {p.slot_key: p for p in first}
    assert {p.slot_key: p for p in amended if p.slot_key in old} == old
    assert len(amended) == len(first) + 1


@given(
    tz=st.sampled_from([NY, LONDON, "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"]),
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    minutes=st.integers(0, 24 * 60 - 1),
)
def test_wall_time_kept_unless_it_does_not_exist(tz, day, minutes):
    at = time(minutes // 60, minutes % 60)
    enrolled = datetime.combine(day, time(12)).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    inst = only([entry(time=at.strftime("%H:%M"))], enrolled, tz)
    local = inst.scheduled_at.astimezone(ZoneInfo(tz))
    wanted = datetime.combine(day, at)
    shift = local.replace(tzinfo=None) - wanted
    exists = datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC).astimezone(
        ZoneInfo(tz)
    ).replace(tzinfo=None) == wanted
    if exists:
        assert shift == timedelta(0)
    else:  # moved forward by the gap: 30 min (Lord Howe) or 1 h elsewhere
        assert timedelta(0) < shift <= timedelta(hours=1)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sched", "tz", "enrolled", "message"),
    [
        ([entry()], "Mars/Olympus", utc(2026, 1, 1), "Mars/Olympus"),
        ([entry()], NY, datetime(2026, 1, 1), "enrolled_at"),
        ([entry(time="24:00")], NY, utc(2026, 1, 1), r"schedule\[0\]\.time"),
        ([entry(time="9:00")], NY, utc(2026, 1, 1), r"schedule\[0\]\.time"),
        ([entry(due_after_hours=48, expire_after_hours=24)], NY, utc(2026, 1, 1), "expire"),
        ([entry(start_day=-1)], NY, utc(2026, 1, 1), "start_day"),
        ([entry(repeat={"every_days": 0, "count": 2})], NY, utc(2026, 1, 1), "every_days"),
        ([{"template": "tr", "start_day": 0, "time": "09:00"}], NY, utc(2026, 1, 1), "due_after"),
    ],
)
def test_invalid_input_names_the_problem(sched, tz, enrolled, message):
    with pytest.raises(ValueError, match=message):
        plan_instances(sched, enrolled, tz)


# --- timepoint windows -------------------------------------------------------------------


def test_timepoint_window_is_whole_local_days():
    tps = [{"key": "week4", "day": 28, "window_before_days": 3, "window_after_days": 7}]
    (w,) = timepoint_windows(tps, utc(2026, 1, 10, 4), NY)  # 9 Jan 23:00 EST is day 0
    assert w.key == "week4"
    assert w.target_at == utc(2026, 2, 6, 5)  # 6 Feb 00:00 EST
    assert w.opens_at == utc(2026, 2, 3, 5)
    assert w.closes_at == utc(2026, 2, 14, 5)  # end of 13 Feb, exclusive


def test_timepoint_window_when_local_midnight_does_not_exist():
    # Chile springs forward at 24:00 on Saturday 5 Sept 2026: 6 Sept starts at 01:00 -03.
    tps = [{"key": "base", "day": 0, "window_before_days": 0, "window_after_days": 0}]
    (w,) = timepoint_windows(tps, utc(2026, 9, 6, 12), "America/Santiago")
    assert w.opens_at == w.target_at == utc(2026, 9, 6, 4)
    assert w.closes_at == utc(2026, 9, 7, 3)  # 7 Sept 00:00 -03: a 23-hour day


# --- quiet hours -------------------------------------------------------------------------

QUIET = ("22:00", "08:00")


@pytest.mark.parametrize(
    ("instant", "ok", "allowed"),
    [
        (utc(2026, 6, 1, 16), True, utc(2026, 6, 1, 16)),  # 12:00 EDT
        (utc(2026, 6, 2, 3, 30), False, utc(2026, 6, 2, 12)),  # 23:30 -> 08:00 next day
        (utc(2026, 6, 2, 11), False, utc(2026, 6, 2, 12)),  # 07:00 -> 08:00 same day
        (utc(2026, 6, 2, 2), False, utc(2026, 6, 2, 12)),  # 22:00 is quiet (closed start)
        (utc(2026, 6, 2, 12), True, utc(2026, 6, 2, 12)),  # 08:00 is allowed (open end)
    ],
)
def test_quiet_hours_crossing_midnight(instant, ok, allowed):
    assert local_time_ok(instant, NY, QUIET) is ok
    assert next_allowed(instant, NY, QUIET) == allowed


def test_daytime_quiet_hours_and_mapping_form():
    quiet = {"start": "13:00", "end": "14:00"}
    assert not local_time_ok(utc(2026, 1, 5, 13, 30), LONDON, quiet)
    assert next_allowed(utc(2026, 1, 5, 13, 30), LONDON, quiet) == utc(2026, 1, 5, 14)
    assert local_time_ok(utc(2026, 1, 5, 23), LONDON, quiet)
    assert local_time_ok(utc(2026, 1, 5, 3), LONDON, None)


def test_quiet_period_ending_in_dst_gap_ends_gap_later():
    # Quiet until 02:30 on 8 Mar 2026 in New York: 02:30 does not exist -> 03:30 EDT.
    assert next_allowed(utc(2026, 3, 8, 4), NY, ("22:00", "02:30")) == utc(2026, 3, 8, 7, 30)


def test_quiet_hours_validation():
    with pytest.raises(ValueError, match="differ"):
        local_time_ok(utc(2026, 1, 1), NY, ("08:00", "08:00"))
    with pytest.raises(ValueError, match="quiet_hours.end"):
        next_allowed(utc(2026, 1, 1), NY, ("22:00", "8am"))
    with pytest.raises(ValueError, match="Nowhere/City"):
        local_time_ok(utc(2026, 1, 1), "Nowhere/City", QUIET)


# --- states ------------------------------------------------------------------------------


def test_instance_state_boundaries_on_planned_and_mapping():
    inst = only(
        [entry(open_before_hours=1, due_after_hours=2, expire_after_hours=5)],
        utc(2026, 1, 5, 6),
        LONDON,
    )
    assert isinstance(inst, PlannedInstance)
    row = {"open_at": inst.open_at, "due_at": inst.due_at, "expire_at": inst.expire_at}
    cases = [
        (utc(2026, 1, 5, 7, 59), "scheduled"),
        (utc(2026, 1, 5, 8), "open"),
        (utc(2026, 1, 5, 10, 59), "open"),
        (utc(2026, 1, 5, 11), "due"),
        (utc(2026, 1, 5, 13, 59), "due"),
        (utc(2026, 1, 5, 14), "expired"),
    ]
    for now, state in cases:
        assert instance_state(inst, now) == state
        assert instance_state(row, now) == state
    with pytest.raises(ValueError, match="now"):
        instance_state(inst, datetime(2026, 1, 5, 9))


def test_is_late():
    due = utc(2026, 1, 5, 10)
    assert not is_late(due, due)
    assert is_late(due + timedelta(seconds=1), due)
    assert not is_late(datetime(2026, 1, 5, 5, 0, tzinfo=ZoneInfo(NY)), due)  # 10:00Z exactly
