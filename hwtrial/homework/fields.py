"""Validation of homework submissions against a template's field specs.

Pure: takes the field specs (``homework.templates[].fields``) and the posted values.
Form posts give strings and JSON gives typed values; both are accepted. Clean values are
JSON-ready (``str``, ``int``, ``float``, ``bool``, ``list[str]``; dates as ``"YYYY-MM-DD"``,
times as ``"HH:MM"``) so the service layer can store them as they are.

A value counts as *missing* when it is absent, ``None``, blank after trimming or an empty
list. Missing optional fields are left out of ``clean``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

__all__ = ["DEFAULT_MAX_LENGTH", "FIELD_TYPES", "text_limit", "validate_submission", "words"]

#: Used when a text field has no ``max_length``; generous, only to stop abuse.
DEFAULT_MAX_LENGTH = {"text": 1000, "longtext": 20000}

# A word is a run of letters/digits, joined by inner apostrophes or hyphens, so
# "don't" and "well-being" count once and "--" or "..." count zero.
_WORD = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
# Bounded digit counts: int() refuses huge strings with a ValueError of its own.
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class _Invalid(Exception):
    """One error message for one field."""


def words(text: str | None) -> int:
    """Number of words in ``text`` (0 for ``None``).

    A word is a maximal run of letters or digits (any script); inner apostrophes and
    hyphens join, so ``"don't"`` and ``"well-being"`` are one word each. Shared by
    submission metrics and self-review depth so that both count the same way.
    """
    return 0 if not text else len(_WORD.findall(text))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple)) and len(value) == 0


def _range_text(spec: Mapping[str, Any], kind: str) -> str:
    low, high = spec.get("min"), spec.get("max")
    if low is not None and high is not None:
        return f"must be {kind} between {low} and {high}"
    if low is not None:
        return f"must be {kind} of at least {low}"
    if high is not None:
        return f"must be {kind} of at most {high}"
    return f"must be {kind}"


def _in_range(number: float, spec: Mapping[str, Any]) -> bool:
    low, high = spec.get("min"), spec.get("max")
    return (low is None or number >= low) and (high is None or number <= high)


def _text(value: Any, spec: Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be text")
    value = value.strip()
    limit = text_limit(spec)
    if len(value) > limit:
        raise _Invalid(f"must be at most {limit} characters")
    if _UNSTORABLE.search(value):  # PostgreSQL refuses NUL; no driver encodes a lone surrogate
        raise _Invalid("must not contain NUL or unpaired surrogate characters")
    return value


def text_limit(spec: Mapping[str, Any]) -> int:
    """Longest value of a text field: its ``max_length``, else the type's default."""
    return spec.get("max_length", DEFAULT_MAX_LENGTH[spec["type"]])


def _integer(value: Any, spec: Mapping[str, Any]) -> int:
    message = _range_text(spec, "an integer")
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON clients may send 5.0
    if isinstance(value, bool) or not isinstance(value, int) or not _in_range(value, spec):
        raise _Invalid(message)
    return value


def _scale(value: Any, spec: Mapping[str, Any]) -> int:
    if spec.get("min") is None or spec.get("max") is None:
        raise ValueError(f"field {spec['key']!r}: a scale needs min and max")
    return _integer(value, spec)


def _number(value: Any, spec: Mapping[str, Any]) -> float:
    # No decimal comma: "1,000" would silently become 1.0. Browsers' number inputs post
    # a dot whatever the locale, and float() alone would accept "nan", "inf" and "1_0".
    message = _range_text(spec, "a number")
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(message)
    if not math.isfinite(value) or not _in_range(value, spec):
        raise _Invalid(message)
    return float(value)


def _choices(spec: Mapping[str, Any]) -> list[str]:
    choices = spec.get("choices")
    if not choices:
        raise ValueError(f"field {spec['key']!r}: {spec['type']} needs choices")
    return [str(c) for c in choices]


def _choice(value: Any, spec: Mapping[str, Any]) -> str:
    choices = _choices(spec)
    if not isinstance(value, str) or value.strip() not in choices:
        raise _Invalid(f"must be one of: {', '.join(choices)}")
    return value.strip()


def _multichoice(value: Any, spec: Mapping[str, Any]) -> list[str]:
    choices = _choices(spec)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise _Invalid(f"must be a list of: {', '.join(choices)}")
    picked = [v.strip() for v in items if v.strip()]
    unknown = [v for v in picked if v not in choices]
    if unknown:
        raise _Invalid(f"unknown choice {unknown[0]!r}; must be among: {', '.join(choices)}")
    return list(dict.fromkeys(picked))  # a repeated checkbox counts once, order kept


def _boolean(value: Any, spec: Mapping[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Invalid("must be true or false")


def _date(value: Any, spec: Mapping[str, Any]) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass  # 2026-02-30 and friends
    raise _Invalid("must be a date (YYYY-MM-DD)")


def _time(value: Any, spec: Mapping[str, Any]) -> str:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, str) and _TIME.fullmatch(value.strip()):
        return value.strip()
    raise _Invalid("must be a time (HH:MM)")


_CONVERTERS: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "text": _text,
    "longtext": _text,
    "integer": _integer,
    "number": _number,
    "scale": _scale,
    "choice": _choice,
    "multichoice": _multichoice,
    "boolean": _boolean,
    "date": _date,
    "time": _time,
}
#: Field types understood by :func:`validate_submission`.
FIELD_TYPES = frozenset(_CONVERTERS)


def _converter(spec: Mapping[str, Any]) -> Callable[[Any, Mapping[str, Any]], Any]:
    try:
        return _CONVERTERS[spec["type"]]
    except KeyError:
        raise ValueError(f"field {spec.get('key')!r}: unknown type {spec.get('type')!r}") from None


def validate_submission(
    fields: Sequence[Mapping[str, Any]], values: Mapping[str, Any], *, partial: bool = False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check and convert submitted values against field specs.

    Parameters
    ----------
    fields : list of dict
        Field specs (``key``, ``type``, ``required``, ``min``, ``max``, ``max_length``,
        ``choices``).
    values : dict
        Posted values by field key; strings (form posts) or typed values (JSON). A form
        can be passed as ``request.form.to_dict(flat=False)``: one-element lists are
        unwrapped for single-valued fields, and multichoice keeps the whole list.
    partial : bool, default False
        Draft mode: required fields may be missing; present values are still checked.

    Returns
    -------
    clean : dict
        JSON-ready values of every valid, non-missing field.
    errors : dict of str to list of str
        Messages by field key, e.g. ``{"intensity": ["must be an integer between 0 and
        100"], "mood2": ["unknown field"]}``; empty when the submission is valid.

    Raises
    ------
    ValueError
        When a field spec itself is unusable (unknown type, scale without bounds, choice
        without choices) - a study-definition error, not a participant's.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    known = {spec["key"] for spec in fields}
    for key in values:
        if key not in known:
            errors[key] = ["unknown field"]
    for spec in fields:
        key, value = spec["key"], values.get(spec["key"])
        convert = _converter(spec)
        if spec["type"] != "multichoice" and isinstance(value, list) and len(value) == 1:
            value = value[0]  # MultiDict.to_dict(flat=False) wraps every form value
        if _missing(value):
            if spec.get("required") and not partial:
                errors[key] = ["required"]
            continue
        try:
            clean[key] = convert(value, spec)
        except _Invalid as exc:
            errors[key] = [str(exc)]
    return clean, errors
