"""Builtin homework templates and questionnaire instruments, read from ``builtin/*.yaml``."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

from .schema.homework import BUILTIN_TEMPLATES, TemplateSchema
from .schema.questionnaires import BUILTIN_INSTRUMENTS, InstrumentSchema
from .yamlsource import StudyLoader

BUILTIN_DIR = Path(__file__).parent / "builtin"


@functools.cache
def _load(name: str, kind: str) -> dict:
    text = (BUILTIN_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=StudyLoader)  # noqa: S506 - StudyLoader is a SafeLoader
    if kind == "template":
        return TemplateSchema().load(data)
    if kind == "instrument":
        return InstrumentSchema().load(data)
    return data


def builtin_template(name: str) -> dict:
    """Return a copy of builtin homework template ``name`` (fields and texts).

    Raises
    ------
    ValueError
        If ``name`` is not one of ``BUILTIN_TEMPLATES``.
    """
    if name not in BUILTIN_TEMPLATES:
        raise ValueError(f"unknown builtin template {name!r}")
    return copy.deepcopy(_load(name, "template"))


def builtin_instrument(name: str) -> dict:
    """Return a copy of builtin instrument ``name`` (items, scoring, bands, safety).

    Raises
    ------
    ValueError
        If ``name`` is not one of ``BUILTIN_INSTRUMENTS``.
    """
    if name not in BUILTIN_INSTRUMENTS:
        raise ValueError(f"unknown builtin instrument {name!r}")
    return copy.deepcopy(_load(name, "instrument"))


def default_self_review_prompt() -> dict[str, str]:
    """Return the default self-review prompt ``{locale: text}``."""
    return dict(_load("self_review", "data")["prompt"])
