"""Fill defaults and derive what a study file leaves implicit.

Input is the output of ``StudySchema().load``; output is the normalised,
JSON-serialisable definition. Normalising normalised data changes nothing,
so a stored definition can be re-validated as it is.
"""

from __future__ import annotations

import copy
import string

from .builtin import builtin_instrument, builtin_template, default_self_review_prompt
from .factorial import check_fractional, derive_cells
from .merge import deep_merge
from .schema.features import DAYS
from .schema.homework import CHOICE_TYPES, NUMERIC_TYPES

_MAX_LENGTH = {"text": 500, "longtext": 5000}


def normalise(data: dict) -> tuple[dict, list[tuple]]:
    """Return ``(normalised, problems)``; problems are ``(path, message)`` pairs."""
    out = copy.deepcopy(data)
    out["default_locale"] = data["default_locale"] or data["locales"][0]
    out["fractional"] = data.get("fractional")
    out["arms"], problems = _arms(out)
    out["homework"] = {
        "templates": [expand_template(t) for t in data["homework"]["templates"]],
        "schedule": [complete_schedule(s) for s in data["homework"]["schedule"]],
    }
    out["questionnaires"] = {
        "instruments": [expand_instrument(i) for i in data["questionnaires"]["instruments"]],
        "timepoints": data["questionnaires"]["timepoints"],
    }
    out["allocation"] = complete_allocation(data["allocation"], data)
    return out, problems


def _arms(data: dict) -> tuple[list[dict], list[tuple]]:
    if data["factors"]:
        problems = check_fractional(data["factors"], data["fractional"])
        if problems:
            return [], problems
        arms, problems = derive_cells(data["factors"], data["fractional"], complete_features)
        given = data["arms"]
        if given is not None and [_complete_arm(a, i) for i, a in enumerate(given)] != arms:
            problems.append((("arms",), "arms are derived from factors; leave them out"))
        return arms, problems
    if data["arms"] is None:
        return [], [(("arms",), "give either arms or factors")]
    if data["fractional"]:
        return [], [(("fractional",), "fractional is only used with factors")]
    return [_complete_arm(a, i) for i, a in enumerate(data["arms"])], []


def _complete_arm(arm: dict, index: int) -> dict:
    code = string.ascii_uppercase[index] if index < 26 else f"A{index + 1}"
    return {
        "key": arm["key"],
        "code": arm.get("code") or code,
        "label": arm.get("label") or arm["key"],
        "ratio": arm["ratio"],
        "features": complete_features(arm["features"]),
    }


def complete_features(features: dict) -> dict:
    """Fill every feature with its default (reminders off, no self-review, framing ``default``)."""
    reminders = dict(features.get("reminders", {}))
    policy = reminders.setdefault("policy", "none")
    for key, default in (("times", []), ("days", list(DAYS)), ("quiet_hours", None),
                         ("channels", [] if policy == "none" else ["email"]),
                         ("relative_to_due_hours", []), ("decision_points", None),
                         ("probability", None), ("availability", None)):
        reminders.setdefault(key, default)
    if policy == "micro_randomised":  # the proximal outcome: a submission within this window
        reminders.setdefault("proximal_window_hours", 2)
    if reminders["availability"] is not None:
        reminders["availability"] = {"max_per_day": None, "skip_if_completed_today": False,
                                     **reminders["availability"]}
    review = dict(features.get("self_review", {}))
    review.setdefault("enabled", False)
    review.setdefault("prompt", default_self_review_prompt() if review["enabled"] else {})
    review.setdefault("usefulness_scale", {"min": 0, "max": 10})
    return {
        "reminders": reminders,
        "self_review": review,
        "framing": features.get("framing", "default"),
        "extra": dict(features.get("extra", {})),
    }


def expand_template(template: dict) -> dict:
    """Merge a template over its builtin: study fields replace, study texts override per key."""
    base = builtin_template(template["builtin"]) if template.get("builtin") else {}
    fields = template.get("fields")
    if fields is None:
        fields = base.get("fields", [])
    return {
        "key": template["key"],
        "builtin": template.get("builtin"),
        "fields": [complete_field(f) for f in fields],
        "texts": deep_merge(base.get("texts", {}), template.get("texts", {})),
    }


def complete_field(spec: dict) -> dict:
    """Keep the options that apply to the field's type, with defaults."""
    out = {"key": spec["key"], "type": spec["type"], "required": spec.get("required", False)}
    if spec["type"] in NUMERIC_TYPES:
        out["min"], out["max"] = spec.get("min"), spec.get("max")
    if spec["type"] in _MAX_LENGTH:
        out["max_length"] = spec.get("max_length") or _MAX_LENGTH[spec["type"]]
    if spec["type"] in CHOICE_TYPES:
        out["choices"] = spec["choices"]
    return out


def complete_schedule(entry: dict) -> dict:
    """Default ``repeat`` to once and ``expire_after_hours`` to ``due_after_hours``."""
    out = dict(entry)
    out["repeat"] = entry.get("repeat") or {"every_days": 1, "count": 1}
    if out.get("expire_after_hours") is None:
        out["expire_after_hours"] = entry["due_after_hours"]
    return out


def expand_instrument(instrument: dict) -> dict:
    """Merge an instrument over its builtin; top-level ``bands`` replace the scoring bands."""
    base = builtin_instrument(instrument["builtin"]) if instrument.get("builtin") else {}
    items = instrument.get("items")
    if items is None:
        items = base.get("items", [])
    scoring = {"method": "sum", "max_missing": 0, "bands": [],
               **base.get("scoring", {}), **(instrument.get("scoring") or {})}
    if instrument.get("bands") is not None:
        scoring["bands"] = instrument["bands"]
    return {
        "key": instrument["key"],
        "builtin": instrument.get("builtin"),
        "title": {**base.get("title", {}), **instrument.get("title", {})},
        "instructions": {**base.get("instructions", {}), **instrument.get("instructions", {})},
        "anchors": {**base.get("anchors", {}), **instrument.get("anchors", {})},
        "items": [{"reverse": False, **item} for item in items],
        "scoring": scoring,
        # An explicit `safety: null` switches a builtin's safety rule off.
        "safety": instrument["safety"] if "safety" in instrument else base.get("safety"),
    }


def uses_minimisation(allocation: dict) -> bool:
    """Whether the allocation method minimises (directly, over cells, or over clusters)."""
    inner = {"factorial": allocation.get("factorial"), "cluster": allocation.get("cluster")}
    sub = inner.get(allocation["method"]) or {}
    return allocation["method"] == "minimisation" or sub.get("method") == "minimisation"


def factor_pool(data: dict) -> list[str]:
    """Keys that allocation may balance on: cluster covariates for cluster methods, else strata."""
    if data["allocation"]["method"] == "cluster":
        return [c["key"] for c in (data["clusters"] or {}).get("covariates", [])]
    return [s["key"] for s in data["stratification"]]


def complete_allocation(allocation: dict, data: dict) -> dict:
    """Fill allocation defaults.

    Strata default to every balancing key, except when minimising: then
    ``minimisation.factors`` default to every key and ``stratify_by`` to none,
    because minimising within strata made of the same factors balances nothing.
    """
    out = {"method": allocation["method"], "block_sizes": allocation.get("block_sizes"),
           "stratify_by": allocation.get("stratify_by"),
           "minimisation": allocation.get("minimisation"),
           "factorial": allocation.get("factorial"), "cluster": allocation.get("cluster")}
    if out["method"] == "factorial":
        out["factorial"] = {"method": "blocks", **(out["factorial"] or {})}
    if out["method"] == "cluster":
        out["cluster"] = {"method": "simple", "block_sizes": None, **(out["cluster"] or {})}
    pool = factor_pool(data)
    minimising = uses_minimisation(out)
    if out["stratify_by"] is None:
        out["stratify_by"] = [] if minimising else pool
    if minimising:
        out["minimisation"] = _complete_minimisation(out["minimisation"] or {}, pool)
    return out


def _complete_minimisation(mini: dict, pool: list[str]) -> dict:
    out = {"imbalance": "range", "variant": "pocock_simon", **mini}
    if out.get("factors") is None:
        out["factors"] = list(pool)
    out["weights"] = {f: 1.0 for f in out["factors"]} | (out.get("weights") or {})
    if out.get("p") is None:
        # Taves's method is deterministic; Pocock-Simon's 0.8 is the usual biased coin.
        out["p"] = 1.0 if out["variant"] == "taves" else 0.8
    return out
