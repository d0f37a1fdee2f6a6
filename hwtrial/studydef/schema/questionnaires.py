"""Schemas for questionnaire instruments and the timepoints they are given at."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..fields import LOCALE_RE, Bool, Days, Int, Key, KeyedDict, LocaleText, OneOf

BUILTIN_INSTRUMENTS = ("phq9", "gad7")


class ItemSchema(Schema):
    key = Key(required=True)
    text = LocaleText(required=True)
    min = Int(required=True)
    max = Int(required=True)
    reverse = Bool(load_default=False)

    @validates_schema
    def _range(self, data, **kwargs):
        if data["min"] >= data["max"]:
            raise ValidationError({"max": [f"max ({data['max']}) must be greater than min"]})


class BandSchema(Schema):
    max = Int(required=True)
    label = Key(required=True)


class ScoringSchema(Schema):
    method = OneOf("sum", "mean")
    max_missing = Int(validate=validate.Range(min=0))
    bands = fields.List(fields.Nested(BandSchema))


class SafetySchema(Schema):
    item = Key(required=True)
    threshold = Int(required=True)
    notify = OneOf("coordinator", load_default="coordinator")


class InstrumentSchema(Schema):
    key = Key(required=True)
    builtin = OneOf(*BUILTIN_INSTRUMENTS, allow_none=True)
    title = LocaleText()
    instructions = LocaleText()
    # One label per response value, min..max, per locale (e.g. "Not at all" .. "Nearly every day").
    anchors = KeyedDict(keys=Key(LOCALE_RE), values=fields.List(fields.String()))
    items = fields.List(fields.Nested(ItemSchema), allow_none=True)
    scoring = fields.Nested(ScoringSchema, allow_none=True)
    bands = fields.List(fields.Nested(BandSchema), allow_none=True)
    safety = fields.Nested(SafetySchema, allow_none=True)


class TimepointSchema(Schema):
    key = Key(required=True)
    day = Days(required=True)
    window_before_days = Days(load_default=0)
    window_after_days = Days(load_default=0)
    instruments = fields.List(Key(), required=True, validate=validate.Length(min=1))


class QuestionnairesSchema(Schema):
    instruments = fields.List(fields.Nested(InstrumentSchema), load_default=list)
    timepoints = fields.List(fields.Nested(TimepointSchema), load_default=list)
