"""The results document as the rows a reader sees (PURE: the JSON-ready document in, rows out).

One walk over the document finds every estimate (a dict with ``estimate``, ``ci_low``,
``ci_high`` and ``method``) and every part that could not be computed, each with the path
that names it ("adherence, B vs A, completion, risk difference"). The HTML report and the
staff results page both render these rows with one Jinja macro, so they never disagree.

Reasons are shown in plain words: a ``ValueError``'s message is written for readers and is
kept (without the class name); any other failure, above all a numpy or statsmodels warning
(``RuntimeWarning: invalid value encountered in scalar divide``), becomes a sentence saying
the model could not be fitted on these data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hwtrial.plots import ForestRow

#: Words for document keys in a row's label (others: underscores become spaces).
WORDS = {"by_arm": "", "result": "", "results": "", "effects": "", "populations": "",
         "itt": "ITT", "per_protocol": "per protocol", "ancova": "ANCOVA",
         "hedges_g": "Hedges' g", "arm_means": "arm means", "risk_difference": "risk difference",
         "risk_ratio": "risk ratio", "odds_ratio": "odds ratio", "on_time": "on time",
         "negative_binomial": "negative binomial", "active_minutes": "active minutes",
         "self_review_depth": "self-review depth", "n_events": "events",
         "participant_rates": "participant adherence", "metrics": "", "measures": "",
         "comparisons": "", "models": "model", "parts": "", "p1": "proportion in the arm",
         "p2": "proportion in the reference arm", "nnt": "number needed to treat"}
#: Model parts left out of the tables (nuisance terms; the JSON document has them).
SKIPPED = {"coefficients", "fixed", "random"}
SECTION_TITLES = {"flow": "Participant flow", "srm": "Sample ratio", "baseline": "Baseline",
                  "adherence": "Homework adherence", "engagement": "Engagement",
                  "outcomes": "Outcomes", "factorial": "Factorial effects",
                  "cluster": "Cluster analysis", "mrt": "Micro-randomised decisions"}
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning)): ?(.*)$", re.S)


def plain_reason(reason: str | None) -> str:
    """A not-estimable reason as a reader should see it (see the module docstring)."""
    if not reason:
        return "not computed"
    match = _EXCEPTION.match(reason.strip())
    if match is None:
        return reason.strip()
    kind, message = match.groups()
    if kind == "ValueError" and message:
        return message
    return "the model could not be fitted on these data (a numerical problem; more data may help)"


@dataclass(frozen=True)
class EstimateRow:
    section: str
    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n: int | None
    method: str


@dataclass(frozen=True)
class MissingRow:
    """A section or part that is not estimable (or not applicable), with the plain reason."""

    section: str
    label: str
    status: str
    reason: str


@dataclass(frozen=True)
class ResultTables:
    estimates: tuple[EstimateRow, ...]
    missing: tuple[MissingRow, ...]
    flags: tuple[str, ...]
    level: float

    def section(self, name: str) -> tuple[EstimateRow, ...]:
        return tuple(r for r in self.estimates if r.section == name)

    @property
    def sections(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for row in (*self.estimates, *self.missing):
            seen.setdefault(row.section)
        return tuple(seen)


def _is_estimate(value: Any) -> bool:
    return isinstance(value, Mapping) and {"estimate", "ci_low", "ci_high", "method"} <= set(value)


def _name_of(item: Mapping[str, Any]) -> str | None:
    """What identifies one element of a list: its arms, measure or name."""
    if "arm" in item and "reference" in item:
        return f"{item['arm']} vs {item['reference']}"
    if "measure" in item and "effect" in item:
        return f"{item['measure']} {item['effect']}"
    if "instrument" in item and "timepoint" in item:
        return f"{item['instrument']}@{item['timepoint']}"
    for key in ("arm", "name", "variable", "measure"):
        if isinstance(item.get(key), str):
            return item[key]
    if isinstance(item.get("cluster"), list):
        return "clustered by " + " and ".join(item["cluster"])
    return None


def _word(key: str) -> str:
    return WORDS.get(key, key.replace("_", " "))


def _label(path: list[str]) -> str:
    return ", ".join(p for p in path if p) or "overall"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _walk(section: str, value: Any, path: list[str], estimates: list, missing: list) -> None:
    if isinstance(value, Mapping):
        status = value.get("status")
        if status in ("not_estimable", "not_applicable"):
            missing.append(MissingRow(section, _label(path), status.replace("_", " "),
                                      plain_reason(value.get("reason"))))
            return
        if _is_estimate(value):
            name = _word(str(value.get("name") or ""))
            estimates.append(EstimateRow(section, _label([*path, name] if name and name not in path[-1:]
                                                         else path),
                                         _number(value["estimate"]), _number(value["ci_low"]),
                                         _number(value["ci_high"]), _number(value.get("p_value")),
                                         value.get("n"), str(value["method"])))
            return
        for key, inner in value.items():
            if isinstance(inner, Mapping | list) and key not in SKIPPED:
                _walk(section, inner, [*path, _word(str(key))], estimates, missing)
    elif isinstance(value, list):
        for item in value:
            name = _name_of(item) if isinstance(item, Mapping) else None
            _walk(section, item, [*path, name] if name else path, estimates, missing)


def result_tables(doc: Mapping[str, Any]) -> ResultTables:
    """Every estimate and every not-estimable part of the results document ``doc``."""
    estimates: list[EstimateRow] = []
    missing: list[MissingRow] = []
    for name, section in doc["sections"].items():
        title = SECTION_TITLES.get(name, name)
        if name in ("flow", "srm", "baseline"):  # their own tables (see report templates)
            if section.get("status") != "ok":
                missing.append(MissingRow(title, "whole section", section["status"].replace("_", " "),
                                          plain_reason(section.get("reason"))))
            continue
        _walk(title, section, [], estimates, missing)
    return ResultTables(tuple(estimates), tuple(missing), tuple(doc.get("flags") or ()),
                        float(doc.get("level") or 0.95))


def outcome_forest(doc: Mapping[str, Any]) -> list[ForestRow]:
    """ANCOVA effects of every measure and population (difference in score vs the reference)."""
    outcomes = doc["sections"].get("outcomes") or {}
    rows = []
    for measure in outcomes.get("measures", []) if outcomes.get("status") == "ok" else []:
        for population, parts in measure.get("populations", {}).items():
            ancova = parts.get("ancova", {})
            name = f"{measure['instrument']}@{measure['timepoint']} {WORDS.get(population, population)}"
            if ancova.get("status") != "ok":
                rows.append(ForestRow(name, None, None, None))
                continue
            for effect in ancova["result"]["effects"]:
                rows.append(ForestRow(f"{name}: {effect['name']}", _number(effect["estimate"]),
                                      _number(effect["ci_low"]), _number(effect["ci_high"])))
    return rows


def adherence_forest(doc: Mapping[str, Any]) -> list[ForestRow]:
    """Risk differences in completion, each arm vs the reference (percentage points)."""
    adherence = doc["sections"].get("adherence") or {}
    rows = []
    for c in adherence.get("comparisons", []) if adherence.get("status") == "ok" else []:
        label = f"{c['arm']} vs {c['reference']}"
        if c.get("status", "ok") != "ok":
            rows.append(ForestRow(label, None, None, None))
            continue
        rd = c["completion"]["risk_difference"]
        rows.append(ForestRow(label, *(None if _number(rd[k]) is None else 100 * rd[k]
                                       for k in ("estimate", "ci_low", "ci_high"))))
    return rows


def adherence_by_arm(doc: Mapping[str, Any]) -> list[tuple[str, float | None, float | None, float | None]]:
    """(arm, completion, CI low, CI high) per arm with closed homework."""
    adherence = doc["sections"].get("adherence") or {}
    if adherence.get("status") != "ok":
        return []
    return [(r["arm"], _number(r["completion"]["estimate"]), _number(r["completion"]["ci_low"]),
             _number(r["completion"]["ci_high"])) for r in adherence["by_arm"]]
