"""The design summary a staff member reads on the study page (PURE: a definition dict in).

It is built from the definition as the caller may read it (``blinding.definition_for``), so a
blinded caller's summary holds arm codes and ratios only: no labels, no features, no
reminders per arm (which would tell the arms apart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArmSummary:
    #: The arm's key, or its code for a blinded caller.
    name: str
    label: str
    ratio: int
    #: Feature names (``reminders``, ``self_review``, ...); empty when blinded.
    features: tuple[str, ...]
    #: The arm's reminder plan in words; None without reminders or when blinded.
    reminders: str | None


@dataclass(frozen=True)
class DesignSummary:
    blinded: bool
    arms: tuple[ArmSummary, ...]
    #: ``(factor, levels)`` of a factorial design (letters and numbers when blinded).
    factors: tuple[tuple[str, tuple[str, ...]], ...]
    #: ``(setting, value)`` pairs of the allocation, method first.
    allocation: tuple[tuple[str, str], ...]
    strata: tuple[tuple[str, tuple[str, ...]], ...]
    #: One line per homework schedule entry.
    schedule: tuple[str, ...]


def design_summary(definition: Mapping[str, Any], *, blinded: bool) -> DesignSummary:
    arms = tuple(_arm(arm, blinded) for arm in definition.get("arms") or [])
    factors = tuple((str(f.get("label") or f["key"]) if not blinded else f["key"],
                     tuple(str(level["key"]) for level in f.get("levels", [])))
                    for f in definition.get("factors") or [])
    strata = tuple((s["key"], tuple(str(v) for v in s.get("levels", [])))
                   for s in definition.get("stratification") or [])
    schedule = tuple(_schedule_line(entry) for entry in (definition.get("homework") or {}).get("schedule", []))
    return DesignSummary(blinded=blinded, arms=arms, factors=factors,
                         allocation=_allocation(definition.get("allocation") or {}), strata=strata,
                         schedule=schedule)


def _arm(arm: Mapping[str, Any], blinded: bool) -> ArmSummary:
    if blinded:
        return ArmSummary(name=arm["code"], label=arm["code"], ratio=arm.get("ratio", 1), features=(),
                          reminders=None)
    features = arm.get("features") or {}
    return ArmSummary(name=arm["key"], label=arm.get("label") or arm["key"], ratio=arm.get("ratio", 1),
                      features=_feature_names(features),
                      reminders=_reminders_line(features.get("reminders")))


def _feature_names(features: Mapping[str, Any]) -> tuple[str, ...]:
    """What the arm switches on (the normalised definition fills every feature with defaults)."""
    names = []
    if (features.get("reminders") or {}).get("policy", "none") != "none":
        names.append("reminders")
    if (features.get("self_review") or {}).get("enabled"):
        names.append("self-review")
    if features.get("framing", "default") != "default":
        names.append(f"framing: {features['framing']}")
    names.extend(f"extra: {key}" for key in sorted(features.get("extra") or {}))
    return tuple(names)


def _reminders_line(reminders: Mapping[str, Any] | None) -> str | None:
    if not reminders or reminders.get("policy") in (None, "none"):
        return None
    parts = [f"{reminders['policy']}"]
    if reminders.get("times"):
        parts.append("at " + ", ".join(reminders["times"]))
    if reminders.get("days"):
        parts.append("on " + ", ".join(reminders["days"]))
    if reminders.get("relative_to_due_hours"):
        parts.append("relative to due: " + ", ".join(f"{h:+g} h" for h in reminders["relative_to_due_hours"]))
    if reminders.get("probability") is not None:
        parts.append(f"probability {reminders['probability']}")
    if reminders.get("channels"):
        parts.append("by " + ", ".join(reminders["channels"]))
    quiet = reminders.get("quiet_hours")
    if quiet:
        parts.append(f"quiet {quiet.get('start')}–{quiet.get('end')}")
    return "; ".join(parts)


def _allocation(allocation: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    rows = [("method", str(allocation.get("method", "?")))]
    for key, value in allocation.items():
        if key == "method" or value in (None, [], {}):
            continue
        rows.append((key, _text(value)))
    return tuple(rows)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _schedule_line(entry: Mapping[str, Any]) -> str:
    repeat = entry.get("repeat") or {}
    text = f"{entry.get('template')} from day {entry.get('start_day', 0)}"
    if entry.get("time"):
        text += f" at {entry['time']}"
    if repeat:
        text += f", every {repeat.get('every_days')} days × {repeat.get('count')}"
    if entry.get("due_after_hours") is not None:
        text += f", due after {entry['due_after_hours']} h"
    return text
