"""The report's plots from plain per-arm data (PURE: :class:`ReportData` in, Plots out).

Arm names in the data are already the reader's labels (keys or codes). A plot without data
is an empty plot that says so; the report still reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hwtrial.plots import (
    Plot,
    empty,
    forest,
    grouped_bars,
    histograms,
    interval_bars,
    lines,
    load_matplotlib,
)

from ..strict_warnings import data_warnings_as_errors
from .consort import Consort
from .diagram import consort_diagram
from .tables import adherence_by_arm, adherence_forest, outcome_forest


@dataclass(frozen=True)
class ReportData:
    """Per-arm inputs of the plots.

    Attributes
    ----------
    arms : tuple of str
        Arm labels in study order.
    enrolled : dict
        Arm to the enrolment dates of its allocated participants.
    strata : dict
        Stratification factor to {level: {arm: participants}}.
    weekly : dict
        Arm to (week start, closed homework instances, submitted) rows, by week.
    engagement : dict
        ``minutes``, ``edits``, ``effort`` to {arm: per-participant means over submitted homework}.
    results : dict
        The results document (adherence per arm, effects).
    """

    arms: tuple[str, ...]
    enrolled: Mapping[str, list[date]]
    strata: Mapping[str, Mapping[str, Mapping[str, int]]]
    weekly: Mapping[str, list[tuple[date, int, int]]]
    engagement: Mapping[str, Mapping[str, list[float]]]
    results: Mapping[str, Any]


def _drawn(title: str, draw: Callable[[], Plot]) -> Plot:
    """``draw()``, or an empty plot saying why when the drawing library warns or fails on
    these data (a warning's text is never shown to a reader). matplotlib is imported before
    warnings become errors: a warning while it starts is not about these data."""
    load_matplotlib()
    try:
        with data_warnings_as_errors():
            return draw()
    except (Warning, ValueError, ArithmeticError):
        return empty(title, "This plot cannot be drawn from these data yet.")


def _cumulative(dates: list[date], start: date) -> list[tuple[date, float]]:
    """Cumulative counts by day, from 0 on ``start`` (the day before the first enrolment, so
    even one day of enrolment is a line from 0)."""
    counts: dict[date, int] = {}
    for d in sorted(dates):
        counts[d] = counts.get(d, 0) + 1
    out, total = [(start, 0.0)] if dates else [], 0
    for d, n in counts.items():
        total += n
        out.append((d, float(total)))
    return out


def enrolment_plot(data: ReportData) -> Plot:
    every = [d for dates in data.enrolled.values() for d in dates]
    start = min(every) - timedelta(days=1) if every else date.min
    title = "Enrolment over time"
    return _drawn(title, lambda: lines(
        title, {arm: _cumulative(data.enrolled.get(arm, []), start) for arm in data.arms},
        ylabel="Participants allocated (cumulative)", xlabel="Enrolment date", step=True))


def balance_plots(data: ReportData) -> dict[str, Plot]:
    return {f"balance_{factor}": _drawn(f"Balance by {factor}", lambda f=factor, lv=levels: grouped_bars(
        f"Balance by {f}", list(lv), {arm: [lv[x].get(arm, 0) for x in lv] for arm in data.arms},
        ylabel="Participants", xlabel=f)) for factor, levels in data.strata.items()}


def weekly_adherence_plot(data: ReportData) -> Plot:
    """Weeks are numbered from the first week with closed homework (a date axis cannot be
    drawn for a single week)."""
    weeks = [w for rows in data.weekly.values() for w, _, _ in rows]
    first = min(weeks) if weeks else date.min
    series = {arm: [(float((week - first).days // 7 + 1), done / n)
                    for week, n, done in data.weekly.get(arm, []) if n] for arm in data.arms}
    title = "Homework completed per week"
    return _drawn(title, lambda: lines(
        title, series, ylabel="Completed (%)",
        xlabel=f"Week of the due date (week 1 starts {first.isoformat()})", percent=True))


def adherence_plot(results: Mapping[str, Any]) -> Plot:
    rows = adherence_by_arm(results)
    level = round(100 * float(results.get("level") or 0.95))
    title = f"Homework completion per arm ({level}% CI)"
    return _drawn(title, lambda: interval_bars(
        title, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        [r[3] for r in rows], ylabel="Completed (%)", percent=True))


ENGAGEMENT_PLOTS = {"minutes": ("Time on task per arm", "Minutes per submitted task (participant mean)"),
                    "edits": ("Edits per arm", "Edits per submitted task (participant mean)"),
                    "effort": ("Effort rating per arm", "Effort rating (participant mean)")}


def engagement_plots(data: ReportData) -> dict[str, Plot]:
    return {f"engagement_{metric}": _drawn(title, lambda m=metric, t=title, x=xlabel: histograms(
        t, data.engagement.get(m, {}), xlabel=x)) for metric, (title, xlabel) in ENGAGEMENT_PLOTS.items()}


def forest_plots(results: Mapping[str, Any]) -> dict[str, Plot]:
    level = round(100 * float(results.get("level") or 0.95))
    outcomes, adherence = (f"Effects on outcomes ({level}% CI)",
                           f"Effect on homework completion ({level}% CI)")
    return {"forest_outcomes": _drawn(outcomes, lambda: forest(
                outcomes, outcome_forest(results), xlabel="Difference in score vs the reference arm")),
            "forest_adherence": _drawn(adherence, lambda: forest(
                adherence, adherence_forest(results),
                xlabel="Risk difference vs the reference arm (percentage points)"))}


def report_plots(data: ReportData, consort: Consort) -> dict[str, Plot]:
    """Every plot of the report, by name, in reading order."""
    return {"consort": consort_diagram(consort), "enrolment": enrolment_plot(data),
            **balance_plots(data), "weekly_adherence": weekly_adherence_plot(data),
            "adherence": adherence_plot(data.results), **engagement_plots(data),
            **forest_plots(data.results)}
