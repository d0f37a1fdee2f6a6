"""What would tell a blinded reader which arm is which, and a scanner for it in any body.

Revealing: arm keys and labels, factor keys and labels, and every feature value that
differs between arms (a string, each string of a list, and the list or object as JSON). A
value that also appears outside the arms and homework texts (say ``none`` as the
multiplicity method) tells nothing and is dropped. Sign-in links are always a leak.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

LINK = "/p/start?token="


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    else:
        yield path, value


def strings_in(value: Any) -> set[str]:
    """Every string of a JSON document, as a key or a value."""
    if isinstance(value, Mapping):
        return set(value) | {s for inner in value.values() for s in strings_in(inner)}
    if isinstance(value, list):
        return {s for inner in value for s in strings_in(inner)}
    return {value} if isinstance(value, str) else set()


def differing_feature_values(arms: list[Mapping[str, Any]]) -> set[str]:
    """Strings (and JSON of lists and objects) of feature leaves that differ between arms."""
    per_arm = [dict(_leaves(arm["features"])) for arm in arms]
    paths = {p for leaves in per_arm for p in leaves}
    out: set[str] = set()
    for path in paths:
        values = [leaves.get(path) for leaves in per_arm]
        if all(v == values[0] for v in values):
            continue
        for value in values:
            if isinstance(value, str):
                out.add(value)
            elif isinstance(value, list) and value:
                out.add(json.dumps(value))
                shared = set.intersection(*(set(map(str, v)) if isinstance(v, list) else set()
                                            for v in values))
                out |= {v for v in value if isinstance(v, str) and v not in shared}
    return out


def revealing_strings(definition: Mapping[str, Any]) -> set[str]:
    """What must not reach a blinded caller of this study (see module docstring)."""
    arms = definition["arms"]
    out = {a["key"] for a in arms} | {a["label"] for a in arms}
    for factor in definition.get("factors") or []:
        out |= {factor["key"], factor.get("label") or factor["key"]}
        out |= {lv["label"] for lv in factor["levels"] if lv.get("label")}
    if len(arms) > 1:
        out |= differing_feature_values(arms)
    # Homework texts are keyed by framing, itself a feature: not evidence that a value is shared.
    rest = {k: v for k, v in definition.items() if k not in ("arms", "factors", "homework")}
    rest["schedule"] = (definition.get("homework") or {}).get("schedule")
    shared = strings_in(rest)
    return {s for s in out if s and s not in shared}


def _compound(text: str) -> bool:
    """Punctuated enough to look for inside other strings without false alarms.

    A single word (``structured``) may well describe the design in the title or description,
    and a clock time (``08:00``) is part of timestamps: each is a leak only as a whole value
    (say ``homework_style: structured`` or ``times: ["08:00"]``).
    """
    if re.fullmatch(r"\d\d:\d\d", text):  # a clock time is also part of every timestamp
        return False
    return bool(re.search(r"[^A-Za-z0-9_]", text))


def _keys_in(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return set(value) | {k for inner in value.values() for k in _keys_in(inner)}
    if isinstance(value, list):
        return {k for inner in value for k in _keys_in(inner)}
    return set()


def _values_in(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return {s for inner in value.values() for s in _values_in(inner)}
    if isinstance(value, list):
        return {s for inner in value for s in _values_in(inner)}
    return {value} if isinstance(value, str) else set()


def leaks_in_json(body: Any, revealing: set[str], secrets: set[str] = frozenset(),
                  revealing_keys: set[str] | None = None) -> list[str]:
    """Revealing strings found in ``body``: whole strings equal to one, or containing a compound one.

    Object keys are checked against ``revealing_keys`` (default: ``revealing``); an API
    passes only the arm keys and labels, since its field names (``self_review``) may
    coincide with a feature's name.
    """
    found = sorted(_keys_in(body) & (revealing if revealing_keys is None else revealing_keys))
    compound = [r for r in revealing if _compound(r)]
    for text in _values_in(body):
        if text in revealing or text in secrets:
            found.append(text)
        elif LINK in text:
            found.append(f"sign-in link {text[:40]}...")
        else:
            found += [f"{r!r} in {text[:60]!r}" for r in compound if r in text]
    serialised = json.dumps(body)
    return found + [r for r in compound if r.startswith(("[", "{")) and r in serialised]


def leaks_in_text(text: str, revealing: set[str], secrets: set[str] = frozenset()) -> list[str]:
    """For HTML and CSV: compound revealing strings, secrets and links anywhere in the text."""
    found = [r for r in revealing if _compound(r) and r in text]
    found += [s for s in secrets if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)]
    return found + ([LINK] if LINK in text else [])
