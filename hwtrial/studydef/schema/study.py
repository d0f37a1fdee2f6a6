"""The root study schema, with consent, analysis, recruitment and support contacts."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..fields import LOCALE_RE, SLUG_RE, Int, Key, KeyedDict, LocaleText, Number, OneOf
from .design import (
    AllocationSchema,
    ArmSchema,
    ClustersSchema,
    FactorSchema,
    Fractional,
    StratumSchema,
)
from .homework import HomeworkSchema
from .questionnaires import QuestionnairesSchema

MULTIPLICITY = ("none", "holm", "hochberg", "bonferroni", "bh", "dunnett")


class ConsentSchema(Schema):
    version = fields.String(required=True, error_messages={
        "invalid": 'Not a valid string; quote version numbers, e.g. "1.0".'})
    text = LocaleText(required=True)


class OutcomeSchema(Schema):
    instrument = Key(required=True)
    timepoint = Key(required=True)
    baseline_timepoint = Key(allow_none=True, load_default=None)
    model = OneOf("ancova", "mixed", load_default="ancova")
    covariates = fields.List(Key(), load_default=list)
    robust_se = OneOf("HC0", "HC1", "HC2", "HC3", allow_none=True, load_default=None)


class PerProtocolSchema(Schema):
    min_adherence = Number(required=True, validate=validate.Range(min=0, max=1))


class AnalysisSchema(Schema):
    primary = fields.Nested(OutcomeSchema, required=True)
    secondary = fields.List(fields.Nested(OutcomeSchema), load_default=list)
    alpha = Number(load_default=0.05, validate=validate.Range(min=0, max=0.5, min_inclusive=False))
    multiplicity = OneOf(*MULTIPLICITY, load_default="none")
    populations = fields.List(OneOf("itt", "per_protocol"), load_default=lambda: ["itt"],
                              validate=validate.Length(min=1))
    per_protocol = fields.Nested(PerProtocolSchema, allow_none=True, load_default=None)


class ProlificSchema(Schema):
    pid_param = fields.String(load_default="PROLIFIC_PID")
    study_param = fields.String(load_default="STUDY_ID")
    session_param = fields.String(load_default="SESSION_ID")
    completion_url = fields.Url(required=True)
    completion_code = fields.String(allow_none=True, load_default=None)


class RecruitmentSchema(Schema):
    prolific = fields.Nested(ProlificSchema, allow_none=True, load_default=None)


class WebhookSchema(Schema):
    #: Where reminders for the host platform go (its secret comes from the configuration).
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)


class ReminderTextSchema(Schema):
    #: A reminder email's subject and first paragraph (the link and footer are hwtrial's).
    subject = fields.String(validate=validate.Length(min=1, max=200))
    intro = fields.String(validate=validate.Length(min=1, max=2000))


class NotificationsSchema(Schema):
    webhook = fields.Nested(WebhookSchema, allow_none=True, load_default=None)
    #: ``{<locale>: {<framing variant or default>: {subject, intro}}}`` over the builtin texts.
    reminder_texts = fields.Dict(keys=Key(LOCALE_RE), values=fields.Dict(
        keys=Key(SLUG_RE), values=fields.Nested(ReminderTextSchema)), allow_none=True, load_default=None)


class CrisisContactSchema(Schema):
    """One place a participant in crisis can turn to, e.g. a helpline."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=40))
    #: A text-message service, e.g. "Text SHOUT to 85258".
    sms = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=200))
    url = fields.Url(allow_none=True, load_default=None, schemes={"https", "http"})
    #: When it answers, e.g. "24 hours, every day".
    hours = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _reachable(self, data, **kwargs):
        if not any(data.get(k) for k in ("phone", "sms", "url")):
            raise ValidationError({"name": ["give a phone, sms or url to reach it"]})


class SupportSchema(Schema):
    """Who participants can turn to: the study team, and crisis contacts per locale."""

    #: The study team, e.g. "Mood study team: mood@example.org, 020 7946 0000 (weekdays 9-17)".
    contact = LocaleText(load_default=dict)
    crisis_contacts = KeyedDict(keys=Key(LOCALE_RE), load_default=dict, values=fields.List(
        fields.Nested(CrisisContactSchema), validate=validate.Length(min=1, max=10)))
    #: Replaces the built-in support message shown after a safety item is endorsed.
    message = LocaleText(load_default=dict)


class StudySchema(Schema):
    format_version = Int(load_default=1, validate=validate.Equal(1, error="only format_version 1 exists"))
    key = Key(SLUG_RE, required=True)
    title = fields.String(required=True, validate=validate.Length(min=1))
    description = fields.String(load_default="")
    locales = fields.List(Key(LOCALE_RE), load_default=lambda: ["en"],
                          validate=validate.Length(min=1))
    default_locale = Key(LOCALE_RE, allow_none=True, load_default=None)
    consent = fields.Nested(ConsentSchema, required=True)
    arms = fields.List(fields.Nested(ArmSchema), allow_none=True, load_default=None)
    factors = fields.List(fields.Nested(FactorSchema), allow_none=True, load_default=None)
    fractional = Fractional
    stratification = fields.List(fields.Nested(StratumSchema), load_default=list)
    clusters = fields.Nested(ClustersSchema, allow_none=True, load_default=None)
    allocation = fields.Nested(AllocationSchema, required=True)
    homework = fields.Nested(HomeworkSchema, load_default=lambda: {"templates": [], "schedule": []})
    questionnaires = fields.Nested(
        QuestionnairesSchema, load_default=lambda: {"instruments": [], "timepoints": []})
    analysis = fields.Nested(AnalysisSchema, allow_none=True, load_default=None)
    recruitment = fields.Nested(RecruitmentSchema, allow_none=True, load_default=None)
    notifications = fields.Nested(NotificationsSchema, allow_none=True, load_default=None)
    support = fields.Nested(SupportSchema, allow_none=True, load_default=None)
