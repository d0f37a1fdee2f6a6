"""Homework engagement per week since enrolment (PURE: rows in, frozen weeks out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Week", "weekly_engagement"]

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """Week ``number`` (1 = the first seven days after enrolment)."""

    number: int
    start: datetime
    #: Homework due in this week (so far).
    due: int
    #: Homework submitted in this week.
    submitted: int
    #: Focus-aware minutes on the homework submitted this week.
    minutes: float


def weekly_engagement(enrolled_at: datetime, rows: Iterable[tuple[datetime, datetime | None, float | None]],
                      now: datetime) -> list[Week]:
    """Weeks from enrolment to ``now`` from ``(due_at, submitted_at, active_seconds)`` rows.

    Homework due after ``now`` is not counted as due yet; every week up to now appears,
    with zeros where nothing happened (a gap is information too).
    """
    last = max(0, int((now - enrolled_at) / WEEK))
    due = [0] * (last + 1)
    submitted = [0] * (last + 1)
    seconds = [0.0] * (last + 1)
    for due_at, submitted_at, active in rows:
        if due_at <= now and due_at >= enrolled_at:
            due[min(last, int((due_at - enrolled_at) / WEEK))] += 1
        if submitted_at is not None and enrolled_at <= submitted_at <= now:
            index = min(last, int((submitted_at - enrolled_at) / WEEK))
            submitted[index] += 1
            seconds[index] += active or 0.0
    return [Week(i + 1, enrolled_at + i * WEEK, due[i], submitted[i], round(seconds[i] / 60, 1))
            for i in range(last + 1)]
