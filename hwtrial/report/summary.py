"""The study design summary at the top of the report (PURE: a definition in, plain rows out).

Pass the blinded definition (``studydef.blind.blind_definition``) for a blinded reader: its
arms have codes and ratios only, so no feature or label can reach the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _feature_text(features: Mapping[str, Any]) -> str:
    """What an arm switches on, in short (features left at their defaults are not listed)."""
    on = []
    reminders = features.get("reminders") or {}
    if reminders.get("policy", "none") != "none":
        on.append(f"reminders ({reminders['policy']}, {', '.join(reminders.get('channels') or [])})")
    review = features.get("self_review") or {}
    if review.get("enabled"):
        on.append("self-review")
    if features.get("framing", "default") != "default":
        on.append(f"framing {features['framing']}")
    for key, value in (features.get("extra") or {}).items():
        on.append(f"{key} = {value}")
    return "; ".join(on) or "no feature switched on"


def _allocation_text(allocation: Mapping[str, Any]) -> str:
    method = allocation["method"].replace("_", " ")
    extra = []
    if allocation.get("block_sizes"):
        extra.append("blocks of " + ", ".join(map(str, allocation["block_sizes"])))
    if allocation.get("stratify_by"):
        extra.append("stratified by " + ", ".join(allocation["stratify_by"]))
    return method + (f" ({'; '.join(extra)})" if extra else "")


def _measure(spec: Mapping[str, Any]) -> str:
    base = f", baseline {spec['baseline_timepoint']}" if spec.get("baseline_timepoint") else ""
    covs = f", adjusted for {', '.join(spec['covariates'])}" if spec.get("covariates") else ""
    return f"{spec['instrument']} at {spec['timepoint']} ({spec.get('model') or 'ancova'}{base}{covs})"


def design_summary(definition: Mapping[str, Any], *, status: str, version: int,
                   blinded: bool) -> dict[str, Any]:
    """Rows for the design table: ``{"title", "description", "facts": [(name, text)], "arms"}``."""
    arms = definition.get("arms") or []
    arm_rows = [{"label": a.get("code") if blinded else a["key"],
                 "name": None if blinded else a.get("label"), "ratio": a.get("ratio", 1),
                 "features": None if blinded else _feature_text(a.get("features") or {})}
                for a in arms]
    facts = [("Status", f"{status}, version {version}"),
             ("Allocation", _allocation_text(definition["allocation"]))]
    for factor in definition.get("stratification") or []:
        facts.append((f"Stratum {factor['key']}", ", ".join(factor["levels"])))
    for factor in definition.get("factors") or []:
        facts.append((f"Factor {factor['key']}", ", ".join(lv["key"] for lv in factor["levels"])))
    for entry in (definition.get("homework") or {}).get("schedule") or []:
        repeat = entry.get("repeat") or {}
        times = (f", every {repeat['every_days']} days, {repeat['count']} times"
                 if repeat.get("count") else "")
        facts.append(("Homework", f"{entry['template']} from day {entry.get('start_day', 0)}{times}"))
    for tp in (definition.get("questionnaires") or {}).get("timepoints") or []:
        facts.append((f"Questionnaires {tp['key']}", f"day {tp['day']}: {', '.join(tp['instruments'])}"))
    analysis = definition.get("analysis") or {}
    if analysis.get("primary"):
        facts.append(("Primary outcome", _measure(analysis["primary"])))
    for spec in analysis.get("secondary") or []:
        facts.append(("Secondary outcome", _measure(spec)))
    if analysis:
        facts.append(("Populations", ", ".join(analysis.get("populations") or ["itt"])))
        if analysis.get("multiplicity"):
            facts.append(("Multiplicity", str(analysis["multiplicity"])))
    return {"title": definition.get("title"), "description": definition.get("description"),
            "facts": facts, "arms": arm_rows}
