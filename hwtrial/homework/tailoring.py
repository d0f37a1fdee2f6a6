"""Tailoring a homework template for one client (PURE: dicts in, frozen result out).

A therapist edits the texts a client reads: the intro and each field's prompt (``label``)
and hint (``help``), and, for ad hoc work, the title. Which adaptations were made is a
research variable, so the result keeps the texts the therapist started from, the tailored
texts and one change per edited key. Only changed keys are stored and overlaid: what the
therapist left alone keeps the text the client would otherwise read (including the arm's
framing, which the blinded therapist never sees).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ADHOC_TEMPLATE", "LIMITS", "Tailoring", "adhoc_template", "apply_tailoring", "tailor"]

#: Template key of ad hoc work: one free-text answer, texts written by the therapist.
ADHOC_TEMPLATE = "adhoc"
#: Longest text per tailorable key (characters, after stripping).
LIMITS = {"title": 200, "intro": 3000, "label": 300, "help": 1000}


@dataclass(frozen=True)
class Tailoring:
    """What a therapist changed.

    Attributes
    ----------
    original : dict
        ``{"title", "intro", "fields": {key: {"label", "help"}}}``: the texts started from.
    tailored : dict
        The same shape holding only the changed keys (overlaid by :func:`apply_tailoring`).
    changes : list of dict
        ``{"key": "intro" | "title" | "fields.<field>.label" | "fields.<field>.help",
        "original": str | None, "tailored": str}``, in template order.
    errors : dict
        Field path (``tailoring.intro``, ``tailoring.fields.situation.label``) to problems.
    """

    original: dict[str, Any]
    tailored: dict[str, Any]
    changes: list[dict[str, Any]]
    errors: dict[str, list[str]]


def adhoc_template(default_locale: str) -> dict[str, Any]:
    """The template of ad hoc work: one required free-text answer."""
    return {"key": ADHOC_TEMPLATE,
            "fields": [{"key": "response", "type": "longtext", "required": True, "max_length": 5000}],
            "texts": {default_locale: {"default": {
                "title": "Homework from your therapist", "intro": "",
                "fields": {"response": {"label": "Your answer"}}}}}}


def _clean(value: Any, path: str, limit: int, errors: dict[str, list[str]]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[path] = ["must be text"]
        return None
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        errors[path] = [f"at most {limit} characters"]
        return None
    return value


def tailor(original: Mapping[str, Any], edits: Mapping[str, Any] | None, *, adhoc: bool = False) -> Tailoring:
    """Compare ``edits`` (same shape as ``original``, any key optional) with ``original``.

    An edit equal to the original (after stripping) is no change. Unknown keys and fields
    are errors naming them. Ad hoc work needs an intro of its own (title and prompt have defaults).
    """
    edits = edits or {}
    errors: dict[str, list[str]] = {}
    if not isinstance(edits, Mapping):
        return Tailoring(dict(original), {}, [], {"tailoring": ["must be an object"]})
    allowed = {"title", "intro", "fields"} if adhoc else {"intro", "fields"}
    for key in sorted(set(edits) - allowed):
        errors[f"tailoring.{key}"] = ["unknown key" if key != "title" else "only ad hoc work has its own title"]
    tailored: dict[str, Any] = {}
    changes: list[dict[str, Any]] = []

    def compare(path: str, before: str | None, after: str | None, target: dict, key: str) -> None:
        if after is not None and after != (before or ""):
            target[key] = after
            changes.append({"key": path, "original": before, "tailored": after})

    for key in ("title", "intro"):
        if key in allowed:
            compare(key, original.get(key), _clean(edits.get(key), f"tailoring.{key}", LIMITS[key], errors),
                    tailored, key)
    field_edits = edits.get("fields") or {}
    if not isinstance(field_edits, Mapping):
        errors["tailoring.fields"] = ["must be an object"]
        field_edits = {}
    known = original.get("fields") or {}
    for name in sorted(set(field_edits) - set(known)):
        errors[f"tailoring.fields.{name}"] = ["unknown field"]
    for name, texts in known.items():
        edit = field_edits.get(name) or {}
        if not isinstance(edit, Mapping):
            errors[f"tailoring.fields.{name}"] = ["must be an object"]
            continue
        for part in sorted(set(edit) - {"label", "help"}):
            errors[f"tailoring.fields.{name}.{part}"] = ["unknown key"]
        target: dict[str, str] = {}
        for part in ("label", "help"):
            path = f"tailoring.fields.{name}.{part}"
            compare(f"fields.{name}.{part}", texts.get(part), _clean(edit.get(part), path, LIMITS[part], errors),
                    target, part)
        if target.get("label") == "":
            errors[f"tailoring.fields.{name}.label"] = ["must not be empty"]
        if target:
            tailored.setdefault("fields", {})[name] = target
    if adhoc and not tailored.get("intro"):
        errors.setdefault("tailoring.intro", ["required for ad hoc work"])
    return Tailoring(copy.deepcopy(dict(original)), tailored, changes, errors)


def apply_tailoring(texts: Mapping[str, Any], tailored: Mapping[str, Any] | None) -> dict[str, Any]:
    """``texts`` (as :func:`~hwtrial.homework.texts.resolve_texts` returns them) with the changed keys."""
    out = copy.deepcopy(dict(texts))
    if not tailored:
        return out
    for key in ("title", "intro"):
        if key in tailored:
            out[key] = tailored[key]
    for name, parts in (tailored.get("fields") or {}).items():
        if name in out.get("fields", {}):
            out["fields"][name] = {**out["fields"][name], **parts}
    return out
