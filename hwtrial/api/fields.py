"""Validated input types shared by the API schemas and the web pages.

What the database cannot store must be refused at the door as a 4xx naming the field,
never reach the driver and come back as a 500: PostgreSQL refuses NUL in text, no driver
can encode a lone UTF-16 surrogate (``"\\ud800"`` is valid JSON), ``integer`` columns end at
2**31 - 1, and a far-off time with an offset overflows ``datetime`` when made UTC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

__all__ = ["ID_MAX", "Id", "Instant", "Text", "bad_strings", "text_problem", "whole_number"]

#: Largest value of an ``integer`` column (ids are serial ``integer`` on PostgreSQL).
ID_MAX = 2**31 - 1
#: Default length limit of a :class:`Text` field without its own ``max_length``.
DEFAULT_TEXT_LENGTH = 2000
#: Times outside this window are refused (no plausible trial time is; both ends survive
#: any UTC offset and a few days of arithmetic without overflowing ``datetime``).
INSTANT_MIN = datetime(1900, 1, 1, tzinfo=UTC)
INSTANT_MAX = datetime(2200, 1, 1, tzinfo=UTC)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str, max_length: int | None = None) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, lone surrogate, too long), or None."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        return ("must not contain NUL characters" if found.group() == "\x00"
                else "must not contain unpaired surrogate characters")
    if max_length is not None and len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def whole_number(value: str | None, max_digits: int = 9) -> int | None:
    """``value`` as an int when it is 1 to ``max_digits`` ASCII digits, else None.

    Not ``str.isdigit``: it also accepts ``"²"`` and other digits that ``int()`` refuses
    with a ValueError (a 500 from a query string or form field).
    """
    if value is None or not (0 < len(value) <= max_digits) or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def bad_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, problem)`` for every unstorable string (keys too) in a JSON-like value, and
    every number that is not finite: Python's decoder takes ``NaN``, ``Infinity`` and
    ``1e400`` (as inf), which are not JSON and would be stored as text no JSON reader accepts.

    Iterative, so a deeply nested body cannot exhaust the stack here either.
    """
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield where or "_schema", problem
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    yield where or "_schema", f"key: {problem}"
                    name = f"{where}.<key>" if where else "<key>"
                stack.append((name, child))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            yield where or "_schema", "must be a finite number (NaN and Infinity are not JSON)"


class Text(ma.fields.String):
    """A string the database can store: no NUL, no lone surrogate, at most ``max_length``."""

    def __init__(self, *, max_length: int = DEFAULT_TEXT_LENGTH, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.metadata = {"maxLength": max_length, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, self.max_length)
        if problem:
            raise ma.ValidationError(problem)
        return text


class Id(ma.fields.Integer):
    """A row id: an integer 1..2**31-1 (larger ones would overflow the column: 422, not 500)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=ID_MAX))
        super().__init__(**kwargs)


class Instant(ma.fields.AwareDateTime):
    """An aware time between 1900 and 2200 (UTC); naive times are refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "iso")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        if when.tzinfo is None or when.utcoffset() is None:
            raise ma.ValidationError("needs a time zone offset")
        try:
            utc = when.astimezone(UTC)
        except OverflowError:
            utc = None
        if utc is None or not INSTANT_MIN <= utc < INSTANT_MAX:
            raise ma.ValidationError("must be between 1900-01-01 and 2200-01-01 (UTC)")
        return when


class TimeBound(ma.fields.AwareDateTime):
    """A bound of a time filter (``enrolled_after``): any aware ISO time, naive ones refused.

    A bound beyond 1900..2200 (UTC) is clamped there: it selects what it says (everything, or
    nothing), so year 1 or 9999 in a query string is a valid filter, neither a 500 (the
    conversion to UTC overflowed) nor a 422 for a value the document allows.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "iso")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = when.astimezone(UTC)
        except OverflowError:
            utc = INSTANT_MAX if when.year > 2000 else INSTANT_MIN
        return min(max(utc, INSTANT_MIN), INSTANT_MAX)
