"""Schemas for homework templates and their schedule (shared format, see studies/README.md)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..fields import (
    LEVEL_RE,
    LOCALE_RE,
    MAX_DAYS,
    MAX_HOURS,
    Bool,
    Days,
    Int,
    Key,
    KeyedDict,
    Number,
    OneOf,
    TimeOfDay,
)

FIELD_TYPES = (
    "text", "longtext", "integer", "number", "scale",
    "choice", "multichoice", "boolean", "date", "time",
)
NUMERIC_TYPES = ("integer", "number", "scale")
TEXT_TYPES = ("text", "longtext")
CHOICE_TYPES = ("choice", "multichoice")
BUILTIN_TEMPLATES = ("thought_record", "behavioural_activation", "exposure_log", "free_reflection")


class FieldSpecSchema(Schema):
    key = Key(required=True)
    type = OneOf(*FIELD_TYPES, required=True)
    required = Bool(load_default=False)
    min = Number(allow_none=True)
    max = Number(allow_none=True)
    max_length = Int(allow_none=True, validate=validate.Range(min=1))
    choices = fields.List(Key(LEVEL_RE), allow_none=True)

    @validates_schema
    def _options_fit_type(self, data, **kwargs):
        kind = data["type"]
        errors = {}
        for name, kinds in (("min", NUMERIC_TYPES), ("max", NUMERIC_TYPES),
                            ("max_length", TEXT_TYPES), ("choices", CHOICE_TYPES)):
            if data.get(name) is not None and kind not in kinds:
                errors[name] = [f"{name} is only used with type {' or '.join(kinds)}"]
        if kind == "scale" and (data.get("min") is None or data.get("max") is None):
            errors["type"] = ["a scale needs min and max"]
        if kind in CHOICE_TYPES and not data.get("choices"):
            errors["choices"] = [f"a {kind} field needs choices"]
        lo, hi = data.get("min"), data.get("max")
        if lo is not None and hi is not None and lo >= hi:
            errors["max"] = [f"max ({hi}) must be greater than min ({lo})"]
        if errors:
            raise ValidationError(errors)


class FieldTextSchema(Schema):
    label = fields.String(required=True)
    help = fields.String()


class VariantTextSchema(Schema):
    title = fields.String()
    intro = fields.String()
    submit_label = fields.String()
    fields = KeyedDict(keys=Key(), values=fields.Nested(FieldTextSchema))


def Texts(**kwargs) -> KeyedDict:  # noqa: N802
    """``{<locale>: {<variant>: {title, intro, submit_label, fields}}}``."""
    variants = KeyedDict(keys=Key(), values=fields.Nested(VariantTextSchema))
    return KeyedDict(keys=Key(LOCALE_RE), values=variants, **kwargs)


class TemplateSchema(Schema):
    key = Key(required=True)
    builtin = OneOf(*BUILTIN_TEMPLATES, allow_none=True)
    fields = fields.List(fields.Nested(FieldSpecSchema), allow_none=True)
    texts = Texts()


#: Most instances one schedule entry plans per participant (each enrolment inserts them all).
MAX_REPEAT_COUNT = 1000
_HOURS = validate.Range(min=0, max=MAX_HOURS)


class RepeatSchema(Schema):
    every_days = Int(required=True, validate=validate.Range(min=1, max=MAX_DAYS))
    count = Int(required=True, validate=validate.Range(min=1, max=MAX_REPEAT_COUNT))


class ScheduleSchema(Schema):
    template = Key(required=True)
    start_day = Days(required=True)
    time = TimeOfDay(required=True)
    repeat = fields.Nested(RepeatSchema, allow_none=True)
    open_before_hours = Number(load_default=0.0, validate=_HOURS)
    due_after_hours = Number(required=True, validate=validate.Range(min=0, max=MAX_HOURS, min_inclusive=False))
    expire_after_hours = Number(allow_none=True, validate=_HOURS)

    @validates_schema
    def _last_day_within_bounds(self, data, **kwargs):
        repeat = data.get("repeat") or {}
        if "start_day" not in data or not {"every_days", "count"} <= set(repeat):
            return
        last = data["start_day"] + repeat["every_days"] * (repeat["count"] - 1)
        if last > MAX_DAYS:
            raise ValidationError({"repeat": [f"the last repeat falls on day {last}; at most day {MAX_DAYS}"]})


class HomeworkSchema(Schema):
    templates = fields.List(fields.Nested(TemplateSchema), load_default=list)
    schedule = fields.List(fields.Nested(ScheduleSchema), load_default=list)
