"""Scoring of questionnaire instruments (builtin PHQ-9 and GAD-7, or study-defined).

Pure: an instrument dict and the answers in, a frozen :class:`Score` out.

Instrument dict
    ``{key, builtin?, items: [{key, min, max, reverse?}], scoring: {method: sum|mean,
    max_missing, bands?}, bands?, safety?: {item, threshold, notify}}``. With ``builtin``
    the builtin definition (:data:`PHQ9`, :data:`GAD7`) is the base and the study's own
    keys override it; ``bands`` at top level overrides ``scoring.bands``. Item texts are
    not needed here (they live with the study definition).

Answers
    ``{item_key: int | None}``. ``None`` or an absent key is a missing item. A value
    outside the item's ``[min, max]``, a non-integer, or an unknown item key raises
    ``ValueError`` naming the item: bad data are an error, not a missing answer.

Missing items (explicit policy)
    * No item missing: the total is the plain sum (``method: sum``) or mean
      (``method: mean``) of the item scores after reverse-scoring.
    * At most ``max_missing`` items missing: the score is *prorated*. For ``sum`` the
      total is the mean of the answered items times the number of items;
      ``total_unrounded`` keeps that exact value and ``total`` rounds it half up to an
      integer, which is what is banded. For ``mean`` the mean of the answered items is
      used as it is. ``prorated`` is True.
    * More than ``max_missing`` items missing (or none answered): ``valid`` is False,
      ``total`` and ``band`` are None and ``reason`` says why.

    The builtin default allows one missing item for both PHQ-9 and GAD-7. Prorating from
    the mean of the answered items is the usual practice for these scales (PHQ/GAD-7
    instruction manual by Spitzer, Williams, Kroenke and colleagues; IAPT Data Handbook
    v2.0.1, 2011). The number of missing items those sources tolerate differs by source
    and edition, and their exact wording was not re-checked for this module, so hwtrial
    takes the strict end (one item) as its default; a study whose protocol allows more
    (or none) sets ``scoring.max_missing`` explicitly. Custom instruments default to 0.

Safety
    ``safety: {item, threshold}`` raises an alert when that item's *raw* answer is
    ``>= threshold`` (PHQ-9: item 9 >= 1, i.e. any answer above "not at all"). Alerts are
    raised whether or not the total is valid. A list of such rules is also accepted.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["BUILTINS", "GAD7", "PHQ9", "Score", "resolve_instrument", "score"]


def _items(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"key": f"{prefix}_{i}", "min": 0, "max": 3} for i in range(1, n + 1)]


#: PHQ-9 (Kroenke, Spitzer & Williams 2001): 9 items 0-3, total 0-27.
PHQ9: dict[str, Any] = {
    "key": "phq9",
    "items": _items("phq9", 9),
    "scoring": {"method": "sum", "max_missing": 1},
    "bands": [
        {"max": 4, "label": "minimal"},
        {"max": 9, "label": "mild"},
        {"max": 14, "label": "moderate"},
        {"max": 19, "label": "moderately_severe"},
        {"max": 27, "label": "severe"},
    ],
    "safety": {"item": "phq9_9", "threshold": 1, "notify": "coordinator"},
}

#: GAD-7 (Spitzer, Kroenke, Williams & Loewe 2006): 7 items 0-3, total 0-21.
GAD7: dict[str, Any] = {
    "key": "gad7",
    "items": _items("gad7", 7),
    "scoring": {"method": "sum", "max_missing": 1},
    "bands": [
        {"max": 4, "label": "minimal"},
        {"max": 9, "label": "mild"},
        {"max": 14, "label": "moderate"},
        {"max": 21, "label": "severe"},
    ],
}

#: Builtin instruments by ``builtin`` name. Treat as read-only; callers get copies.
BUILTINS: dict[str, dict[str, Any]] = {"phq9": PHQ9, "gad7": GAD7}


@dataclass(frozen=True)
class Score:
    """Score of one completed instrument.

    Attributes
    ----------
    instrument : str
        Instrument key.
    total : int or float or None
        Banded total: an integer for ``sum`` (prorated totals rounded half up), the mean
        for ``mean``; None when not valid.
    total_unrounded : float or None
        The exact total before rounding (differs from ``total`` only when prorated).
    band : str or None
        Label of the first band whose ``max`` is >= ``total``; None when not valid or
        above every band.
    n_answered, n_missing : int
        Items answered and missing.
    prorated : bool
        True when some items were missing and the total was still computed.
    safety_alerts : tuple of str
        Item keys whose answer reached their safety threshold.
    valid : bool
        Whether a total could be computed under the missing-items policy.
    reason : str or None
        Why the score is not valid; None when valid.
    """

    instrument: str
    total: int | float | None
    total_unrounded: float | None
    band: str | None
    n_answered: int
    n_missing: int
    prorated: bool
    safety_alerts: tuple[str, ...]
    valid: bool
    reason: str | None


def resolve_instrument(instrument: Mapping[str, Any]) -> dict[str, Any]:
    """Full instrument definition: builtin base (if any) with the study's keys over it.

    Keys the study sets to ``None`` count as not given, except ``safety``: an explicit
    ``safety: null`` in the study file switches a builtin's alert off (a documented,
    versioned protocol decision; leaving the key out keeps the builtin rule). Raises ``ValueError`` for an unknown
    builtin, no items, or a safety rule naming an item the instrument does not have.
    """
    name = instrument.get("builtin")
    if name is not None and name not in BUILTINS:
        raise ValueError(f"unknown builtin instrument {name!r}; known: {sorted(BUILTINS)}")
    merged = copy.deepcopy(BUILTINS[name]) if name else {}
    study = {k: copy.deepcopy(v) for k, v in instrument.items() if v is not None}
    if "safety" in instrument and instrument["safety"] is None:
        study["safety"] = []
    scoring = {**merged.get("scoring", {}), **(study.pop("scoring", {}) or {})}
    merged.update(study)
    merged["scoring"] = scoring
    merged["bands"] = study.get("bands") or scoring.get("bands") or merged.get("bands") or []
    if not merged.get("items"):
        raise ValueError(f"instrument {merged.get('key')!r} has no items")
    keys = {item["key"] for item in merged["items"]}
    for rule in _rules(merged.get("safety")):
        if rule.get("item") not in keys:
            raise ValueError(
                f"instrument {merged.get('key')!r}: safety item {rule.get('item')!r} "
                f"is not one of its items"
            )
    return merged


def _rules(safety: Any) -> list[Mapping[str, Any]]:
    return [safety] if isinstance(safety, Mapping) else list(safety or [])


def _check_answers(items: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> None:
    by_key = {item["key"]: item for item in items}
    for key, value in answers.items():
        if key not in by_key:
            raise ValueError(f"unknown item {key!r}")
        if value is None:
            continue
        item = by_key[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"item {key!r}: answer must be an integer, got {value!r}")
        if not item["min"] <= value <= item["max"]:
            raise ValueError(
                f"item {key!r}: answer {value} outside {item['min']}..{item['max']}"
            )


def _safety(safety: Any, answers: Mapping[str, Any]) -> tuple[str, ...]:
    alerts = []
    for rule in _rules(safety):
        value = answers.get(rule["item"])
        if value is not None and value >= rule.get("threshold", 1):
            alerts.append(rule["item"])
    return tuple(alerts)


def _band(total: float, bands: Sequence[Mapping[str, Any]]) -> str | None:
    maxima = [b["max"] for b in bands]
    if maxima != sorted(maxima) or len(set(maxima)) != len(maxima):
        raise ValueError(f"bands must have strictly increasing max, got {maxima}")
    return next((b["label"] for b in bands if total <= b["max"]), None)


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _total(method: str, scored: list[int], n_items: int) -> tuple[int | float, Fraction]:
    if method == "mean":
        exact = Fraction(sum(scored), len(scored))
        return float(exact), exact
    exact = Fraction(sum(scored) * n_items, len(scored))  # == the sum when nothing is missing
    return _round_half_up(exact), exact


def score(instrument: Mapping[str, Any], answers: Mapping[str, int | None]) -> Score:
    """Score one instrument.

    Parameters
    ----------
    instrument : dict
        Instrument definition (builtin reference or full custom definition).
    answers : dict of str to int or None
        Raw answers by item key; missing items are absent or None.

    Returns
    -------
    Score

    Raises
    ------
    ValueError
        Unknown builtin or item, out-of-range or non-integer answer, bad scoring method
        or bands (the message names the item or option).
    """
    inst = resolve_instrument(instrument)
    items, scoring = inst["items"], inst["scoring"]
    _check_answers(items, answers)
    answered = [item for item in items if answers.get(item["key"]) is not None]
    n_missing = len(items) - len(answered)
    max_missing = scoring.get("max_missing", 0)
    method = scoring.get("method", "sum")
    if method not in ("sum", "mean"):
        raise ValueError(f"scoring.method must be 'sum' or 'mean', got {method!r}")
    common = {
        "instrument": inst.get("key"),
        "n_answered": len(answered),
        "n_missing": n_missing,
        "safety_alerts": _safety(inst.get("safety"), answers),
    }
    if not answered or n_missing > max_missing:
        reason = f"{n_missing} of {len(items)} items missing; at most {max_missing} allowed"
        return Score(total=None, total_unrounded=None, band=None, prorated=False,
                     valid=False, reason=reason, **common)
    scored = [
        item["min"] + item["max"] - answers[item["key"]]
        if item.get("reverse") else answers[item["key"]]
        for item in answered
    ]
    total, exact = _total(method, scored, len(items))
    return Score(total=total, total_unrounded=float(exact), band=_band(total, inst["bands"]),
                 prorated=n_missing > 0, valid=True, reason=None, **common)
