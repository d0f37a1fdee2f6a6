"""Schemas for arm features: what a host app is told to switch on for a participant.

No defaults here: factorial levels carry partial features that are merged into
cells first; :func:`hwtrial.studydef.normalise.complete_features` fills the rest.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from ..fields import (
    MAX_HOURS,
    Bool,
    Days,
    Int,
    Key,
    KeyedDict,
    LocaleText,
    Number,
    OneOf,
    TimeOfDay,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
POLICIES = ("none", "fixed", "micro_randomised")
CHANNELS = ("email", "webhook")


class QuietHoursSchema(Schema):
    start = TimeOfDay(required=True)
    end = TimeOfDay(required=True)


class DecisionPointsSchema(Schema):
    times = fields.List(TimeOfDay(), required=True, validate=validate.Length(min=1))


class ProbabilityStepSchema(Schema):
    from_day = Days(required=True)
    probability = Number(required=True, validate=validate.Range(min=0, max=1))


class Probability(fields.Field):
    """A randomisation probability, or a schedule ``[{from_day, probability}]``.

    A single number is normalised to a one-step schedule so readers see one shape.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not 0 <= value <= 1:
                raise ValidationError(f"{value!r} is not a probability between 0 and 1")
            return [{"from_day": 0, "probability": float(value)}]
        if not isinstance(value, list) or not value:
            raise ValidationError("give a probability or a list of {from_day, probability}")
        return ProbabilityStepSchema(many=True).load(value)


class AvailabilitySchema(Schema):
    max_per_day = Int(allow_none=True, validate=validate.Range(min=1))
    skip_if_completed_today = Bool()


class RemindersSchema(Schema):
    policy = OneOf(*POLICIES)
    times = fields.List(TimeOfDay())
    days = fields.List(OneOf(*DAYS))
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    channels = fields.List(OneOf(*CHANNELS))
    relative_to_due_hours = fields.List(Number(validate=validate.Range(min=-MAX_HOURS, max=MAX_HOURS)))
    decision_points = fields.Nested(DecisionPointsSchema, allow_none=True)
    probability = Probability(allow_none=True)
    availability = fields.Nested(AvailabilitySchema, allow_none=True)
    #: Micro-randomised: the proximal outcome is a homework submission within this many hours.
    proximal_window_hours = Number(validate=validate.Range(min=0, max=168, min_inclusive=False))


class ScaleSchema(Schema):
    min = Int(required=True)
    max = Int(required=True)


class SelfReviewSchema(Schema):
    enabled = Bool()
    prompt = LocaleText()
    usefulness_scale = fields.Nested(ScaleSchema, allow_none=True)


class Scalar(fields.Field):
    """A host-defined flag value: string, number, boolean or null."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValidationError("extra values must be a string, number, boolean or null")
        return value


class FeaturesSchema(Schema):
    reminders = fields.Nested(RemindersSchema)
    self_review = fields.Nested(SelfReviewSchema)
    framing = Key()
    extra = KeyedDict(keys=Key(), values=Scalar(allow_none=True))
