"""What every results section reads: the participant table, labels, plan and populations.

Arm labels are decided once, here: arm keys for callers who may see arms, blinded codes
(A, B, C1, ...) otherwise. Every section computes with those labels, so a blinded
document differs from an unblinded one in names, never in numbers, but for what a blinded
export cannot carry either (engagement's self-review depth and the MRT section are not
applicable; events count only types every arm produces; see results_sections.BLINDED_METRICS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..strict_warnings import data_warnings_as_errors
from .results_data import StudyTables

POPULATIONS = ("itt", "per_protocol")


class NotApplicable(Exception):
    """A section that the study's design does not call for (reported, not an error)."""


#: Failures that mean "these data cannot support this model" rather than a bug: too few
#: rows, singular designs, non-convergence (ConvergenceError is a RuntimeError), and any
#: warning a fit raises (a perfect-separation or convergence warning flags a wrong number;
#: a library's deprecation or future warning is not one: see hwtrial.strict_warnings).
#: IndexError: ``analysis.adherence.design_matrix`` indexes the first level of an empty column.
NOT_ESTIMABLE = (ValueError, ArithmeticError, RuntimeError, np.linalg.LinAlgError, IndexError,
                 Warning)


def guarded(build: Callable[..., dict], *args, **kwargs) -> dict:
    """Run one section (or part); a model that cannot be fitted is reported, never raised.

    Returns ``{"status": "ok", ...}``, ``{"status": "not_estimable", "reason": ...}`` or
    ``{"status": "not_applicable", "reason": ...}``.
    """
    try:
        with data_warnings_as_errors():  # a library's deprecation is not a reason (strict_warnings)
            return {"status": "ok", **build(*args, **kwargs)}
    except NotApplicable as why:
        return {"status": "not_applicable", "reason": str(why)}
    except NOT_ESTIMABLE as why:
        return {"status": "not_estimable", "reason": f"{type(why).__name__}: {why}"}


def compared(arm: str, reference: str, build: Callable[..., dict], *args, **kwargs) -> dict:
    """One arm-vs-reference comparison, guarded like a section.

    Returns ``{"arm", "reference", "status", ...}``: the arms are named whatever the
    status, so a comparison that cannot be computed (say, the reference arm has no data
    yet) still says which one it is and why.
    """
    return {"arm": arm, "reference": reference, **guarded(build, *args, **kwargs)}


@dataclass(frozen=True)
class Measure:
    """One pre-specified outcome: instrument at a timepoint, maybe with a baseline."""

    role: str
    instrument: str
    timepoint: str
    baseline_timepoint: str | None
    model: str
    covariates: tuple[str, ...]
    robust_se: str | None

    @property
    def name(self) -> str:
        return f"{self.instrument}@{self.timepoint}"


@dataclass
class ResultsContext:
    """Inputs shared by the section builders (built by :func:`build_context`)."""

    definition: dict[str, Any]
    people: pd.DataFrame
    tables: StudyTables
    labels: dict[str, str]
    arm_order: list[str]
    ratios: dict[str, float]
    reference: str
    level: float
    populations: list[str]
    measures: list[Measure]
    covariate_keys: list[str]
    blinded: bool
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def analysis(self) -> dict[str, Any]:
        return self.definition.get("analysis") or {}

    @property
    def covariates(self) -> list[str]:
        return list(self.measures[0].covariates) if self.measures else []

    @property
    def is_cluster(self) -> bool:
        return self.definition["allocation"]["method"] == "cluster"

    @property
    def is_factorial(self) -> bool:
        return bool(self.definition.get("factors"))

    @property
    def is_micro_randomised(self) -> bool:
        return any(arm["features"].get("reminders", {}).get("policy") == "micro_randomised"
                   for arm in self.definition["arms"])

    @property
    def proximal_window_hours(self) -> float:
        return proximal_window_hours(self.definition)

    def analysed(self, population: str | None = None) -> pd.DataFrame:
        """Participants whose data may be used, restricted to ``population``."""
        population = population or self.populations[0]
        # cached: sections ask about ten times and each selection copies every column;
        # builders never modify it in place (they assign or copy first)
        key = f"analysed:{population}"
        if key not in self.cache:
            frame = self.people.loc[~self.people["exclude_data"]]
            self.cache[key] = (frame.loc[frame["per_protocol"]] if population == "per_protocol"
                               else frame)
        return self.cache[key]

    def score(self, frame: pd.DataFrame, instrument: str, timepoint: str | None) -> pd.Series:
        """Total score of each row of ``frame`` (by ``participant_id``; NaN where missing)."""
        name = f"{instrument}@{timepoint}"
        if timepoint is None or name not in self.tables.scores.columns:
            return pd.Series(np.nan, index=frame.index)
        by_id = self.cache.get(name)
        if by_id is None:
            by_id = self.cache.setdefault(
                name, self.tables.scores.set_index("participant_id")[name])
        return frame["participant_id"].map(by_id).astype(float)


def proximal_window_hours(definition: dict[str, Any]) -> float:
    """The micro-randomised reminders' proximal-outcome window (the study file's, default 2 h)."""
    return float(next((arm["features"]["reminders"].get("proximal_window_hours", 2)
                       for arm in definition["arms"]
                       if arm["features"].get("reminders", {}).get("policy") == "micro_randomised"), 2))


def score_pairs(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (instrument, timepoint) a planned measure may read (incl. repeated measures)."""
    instruments = {m.instrument for m in measures_of(definition.get("analysis"))}
    return [(i, t["key"]) for t in definition["questionnaires"]["timepoints"]
            for i in t["instruments"] if i in instruments]


def measures_of(analysis: dict[str, Any] | None) -> list[Measure]:
    """Primary then secondary measures of the analysis plan (empty without one)."""
    if not analysis or not analysis.get("primary"):
        return []
    specs = [("primary", analysis["primary"])]
    specs += [(f"secondary_{i + 1}", s) for i, s in enumerate(analysis.get("secondary") or [])]
    return [Measure(role, s["instrument"], s["timepoint"], s.get("baseline_timepoint"),
                    s.get("model") or "ancova", tuple(s.get("covariates") or ()),
                    s.get("robust_se")) for role, s in specs]


def covariate_keys(definition: dict[str, Any]) -> list[str]:
    """Stratification and cluster covariate keys (baseline table and model adjustment)."""
    keys = [s["key"] for s in definition.get("stratification") or []]
    clusters = definition.get("clusters") or {}
    keys += [c["key"] for c in clusters.get("covariates") or [] if c["key"] not in keys]
    return keys


def choose_populations(analysis: dict[str, Any], population: str | None) -> list[str]:
    """The populations to report: the one asked for, else the plan's (ITT first)."""
    if population is not None:
        if population not in POPULATIONS:
            raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
        return [population]
    planned = list(analysis.get("populations") or ["itt"])
    return sorted(planned, key=POPULATIONS.index)


def prepare_people(people: pd.DataFrame, labels: dict[str, str],
                   min_adherence: float | None) -> pd.DataFrame:
    """Add ``arm`` (display label), adherence rate, per-protocol flag and minutes.

    Adds the columns to ``people`` itself: at 100,000 participants a copy is ~20 MB more
    peak memory, and the results call owns the table it loaded.
    """
    people["arm"] = people["arm_key"].map(labels).fillna("unknown")
    assigned = people["n_assigned"].where(people["n_assigned"] > 0)
    people["adherence_rate"] = people["n_completed"] / assigned
    threshold = np.inf if min_adherence is None else float(min_adherence)
    people["per_protocol"] = (people["adherence_rate"] >= threshold).fillna(False)
    people["active_minutes"] = people["active_seconds"] / 60.0
    return people


def build_context(definition: dict[str, Any], tables: StudyTables, *, sees_arms: bool,
                  population: str | None = None) -> ResultsContext:
    """Labels, reference arm, populations and measures for one results document."""
    analysis = definition.get("analysis") or {}
    arms = definition["arms"]
    labels = {a["key"]: a["key"] if sees_arms else a["code"] for a in arms}
    order = [labels[a["key"]] for a in arms]
    pops = choose_populations(analysis, population)
    pp = (analysis.get("per_protocol") or {}).get("min_adherence")
    if "per_protocol" in pops and pp is None:
        raise ValueError("per_protocol needs analysis.per_protocol.min_adherence in the study")
    people = prepare_people(tables.participants, labels, pp)
    return ResultsContext(
        definition=definition, people=people, tables=tables, labels=labels, arm_order=order,
        ratios={labels[a["key"]]: float(a["ratio"]) for a in arms}, reference=order[0],
        level=1.0 - float(analysis.get("alpha") or 0.05), populations=pops,
        measures=measures_of(analysis), covariate_keys=covariate_keys(definition),
        blinded=not sees_arms)
