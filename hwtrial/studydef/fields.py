"""marshmallow fields shared by the study-definition schemas."""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

#: Keys of arms, templates, fields, instruments, items, timepoints, factors, strata.
KEY_RE = r"^[a-z][a-z0-9_]*$"
#: Level keys may start with a digit (``"2plus"``) but are otherwise keys.
LEVEL_RE = r"^[a-z0-9][a-z0-9_]*$"
#: Study keys are URL slugs.
SLUG_RE = r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"
#: Locale tags such as ``en``, ``es``, ``es_MX``, ``pt-BR``.
LOCALE_RE = r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$"
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_BOOL = {"truthy": {True}, "falsy": {False}}


#: How each pattern is explained to a coordinator.
_KEY_HELP = {
    KEY_RE: "lowercase letters, digits and _, starting with a letter",
    LEVEL_RE: "lowercase letters, digits and _",
    SLUG_RE: "lowercase words of letters and digits joined by - or _",
    LOCALE_RE: "a locale such as en, es or pt_BR",
}


def Key(pattern: str = KEY_RE, **kwargs) -> fields.String:  # noqa: N802 - reads like a field class
    """A string key matching ``pattern``, with a message that explains the pattern."""
    rule = _KEY_HELP.get(pattern, f"the pattern {pattern}")
    message = f"{{input!r}} is not a valid key (use {rule})"
    return fields.String(validate=validate.Regexp(pattern, error=message), **kwargs)


#: Largest magnitude of any number in a study file: YAML integers have no size, and one
#: past a C ``int`` or ``datetime`` reaches enrolment as an OverflowError (a 500).
MAX_MAGNITUDE = 10**9
#: Longest span in days a schedule, a timepoint or its window may reach (ten years), so every
#: planned time stays a valid ``datetime`` and an enrolment plans a bounded number of rows.
MAX_DAYS = 3660
MAX_HOURS = 24 * MAX_DAYS
_BOUNDED = validate.Range(min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE)


def _with_bound(kwargs: dict) -> dict:
    given = kwargs.pop("validate", None)
    given = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
    if any(isinstance(v, validate.Range) and v.max is not None and v.min is not None for v in given):
        return {**kwargs, "validate": given}  # bounded already: one message, not two
    return {**kwargs, "validate": [_BOUNDED, *given]}


def Int(**kwargs) -> fields.Integer:  # noqa: N802
    """An integer that refuses ``"3"`` and ``3.5`` (YAML gives real ints), within ±:data:`MAX_MAGNITUDE`."""
    return fields.Integer(strict=True, **_with_bound(kwargs))


def Days(**kwargs) -> fields.Integer:  # noqa: N802
    """A number of days from 0 to :data:`MAX_DAYS`."""
    return Int(validate=validate.Range(min=0, max=MAX_DAYS), **kwargs)


def Bool(**kwargs) -> fields.Boolean:  # noqa: N802
    """A boolean that accepts only ``true``/``false``, not ``"yes"`` or ``1``."""
    return fields.Boolean(**_BOOL, **kwargs)


class Number(fields.Float):
    """A finite number within ±:data:`MAX_MAGNITUDE`; strings such as ``"0.5"`` are refused
    (quote nothing numeric).

    Integers stay integers, so a scale written ``min: 0, max: 100`` is stored that way.
    """

    def __init__(self, **kwargs):
        super().__init__(**_with_bound(kwargs))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        number = super()._deserialize(value, attr, data, **kwargs)
        return value if isinstance(value, int) else number


class TimeOfDay(fields.String):
    """A 24-hour local time ``"HH:MM"``, kept as the string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _TIME_RE.match(value):
            raise ValidationError(f"{value!r} is not a time of day (use HH:MM, 00:00-23:59)")
        return value


class KeyedDict(fields.Dict):
    """A dict whose errors are reported at ``<field>.<key>``.

    marshmallow's Dict reports ``{key: {"value": [...]}}``; that extra ``value``
    level would leak into coordinator-facing paths and hide the YAML line.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if not isinstance(exc.messages, dict):
                raise
            errors = {}
            for key, parts in exc.messages.items():
                if "key" in parts:
                    errors[key] = [f"{key!r} is not allowed here ({_join(parts['key'])})"]
                elif "value" in parts:
                    errors[key] = parts["value"]
            raise ValidationError(errors) from exc


def _join(messages) -> str:
    return "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)


def LocaleText(**kwargs) -> KeyedDict:  # noqa: N802
    """``{<locale>: str}``, e.g. a consent text or an item's wording per language."""
    return KeyedDict(
        keys=Key(LOCALE_RE),
        values=fields.String(validate=validate.Length(min=1)),
        **kwargs,
    )


def OneOf(*choices: str, **kwargs) -> fields.String:  # noqa: N802
    """A string restricted to ``choices``, listing them in the error."""
    message = "{input!r} is not one of: " + ", ".join(choices)
    return fields.String(validate=validate.OneOf(choices, error=message), **kwargs)
