"""The study page's plots, drawn from the dashboard's aggregates and kept by their input.

Drawing takes about 0.15 s a plot; the aggregates change only when something happens in the
study, so a plot is cached by its exact data (title, series, points): an unchanged study page
is served without drawing, and any change draws afresh.
"""

from __future__ import annotations

from functools import lru_cache

from ...plots import Plot, grouped_bars, lines
from ...services.study_dashboard import StudyDashboard

#: Plots kept (a few per study page; the key is the data itself, so old ones simply age out).
CACHE_SIZE = 256


def _freeze(series: dict) -> tuple:
    return tuple((name, tuple(points)) for name, points in series.items())


@lru_cache(maxsize=CACHE_SIZE)
def _lines(title: str, series: tuple, ylabel: str, percent: bool, step: bool) -> Plot:
    return lines(title, {name: list(points) for name, points in series}, ylabel=ylabel, xlabel="Date",
                 percent=percent, step=step)


@lru_cache(maxsize=CACHE_SIZE)
def _bars(title: str, groups: tuple, series: tuple, ylabel: str, xlabel: str) -> Plot:
    return grouped_bars(title, list(groups), {name: list(values) for name, values in series},
                        ylabel=ylabel, xlabel=xlabel)


def study_figures(board: StudyDashboard) -> dict[str, Plot]:
    """Enrolment over time; balance per arm and stratum; adherence per arm by week."""
    figures = {"enrolment": _lines("Enrolment over time", _freeze(board.enrolment), "Participants enrolled",
                                   False, True)}
    if board.strata_balance is not None and board.balance is not None:
        if board.strata_balance:
            groups = tuple(f"{factor}={level}" for factor, level, _ in board.strata_balance)
            arms = list(board.balance)
            series = tuple((arm, tuple(counts.get(arm, 0) for _, _, counts in board.strata_balance))
                           for arm in arms)
            figures["balance"] = _bars("Balance per stratum", groups, series, "Participants", "Stratum level")
        else:
            figures["balance"] = _bars("Balance per arm", tuple(board.balance),
                                       (("participants", tuple(board.balance.values())),), "Participants", "Arm")
    if board.adherence is not None:
        figures["adherence"] = _lines("Adherence per arm by week due", _freeze(board.adherence),
                                      "Closed homework submitted (%)", True, False)
    return figures
