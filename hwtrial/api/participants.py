"""Participants API: enrol, read, list, feature flags, emergency unblinding, withdrawal."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..auth.load import load_study_participant
from ..models.participant import PARTICIPANT_STATUSES
from ..services import blinding, enrolment, features, withdrawal
from . import examples
from .common import Blueprint, ErrorSchema
from .fields import Id, Instant, Text, TimeBound

blp = Blueprint("hwtrial_participants", __name__, description="Enrolment and participants")


def _timezone_aware(value):
    if value.tzinfo is None:
        raise ma.ValidationError("needs a time zone offset")


class EnrolConsentInSchema(ma.Schema):
    """The consent the participant gave: an object, not ``true`` (the version is what they read)."""

    version = Text(required=True, max_length=40, metadata={
        "description": "the study's consent version (``consent.version`` in the study file)"})
    method = Text(load_default="api", max_length=20)
    locale = Text(load_default=None, max_length=20)
    consented_at = Instant(load_default=None, validate=_timezone_aware)


class EnrolInSchema(ma.Schema):
    external_id = Text(required=True, max_length=200, validate=ma.validate.Length(min=1))
    strata = ma.fields.Dict(keys=Text(max_length=200), values=Text(max_length=200), load_default=dict)
    cluster = Text(load_default=None, allow_none=True, max_length=200)
    therapist_id = Id(load_default=None, allow_none=True)
    locale = Text(load_default=None, allow_none=True, max_length=20)
    timezone = Text(load_default=None, allow_none=True, max_length=64)
    email = ma.fields.Email(load_default=None, allow_none=True, validate=ma.validate.Length(max=254),
                            metadata={"description": "where email reminders go (a direct identifier)"})
    consent = ma.fields.Nested(EnrolConsentInSchema, required=True, metadata={
        "description": "an object such as {\"version\": \"2.1\"}; ``true`` is refused"})


#: The request examples of the enrolment operation (also in the README).
ENROL_EXAMPLES = {
    "minimal": {"summary": "stratified RCT", "value": {
        "external_id": "host-user-81731", "strata": {"site": "north", "severity": "mild"},
        "consent": {"version": "2.1"}}},
    "full": {"summary": "every optional field", "value": {
        "external_id": "host-user-81732", "strata": {"site": "south", "severity": "moderate"},
        "cluster": None, "therapist_id": 7, "locale": "de", "timezone": "Europe/Berlin",
        "consent": {"version": "2.1", "method": "app", "locale": "de",
                    "consented_at": "2026-03-01T09:30:00+01:00"}}},
}


class ParticipantOutSchema(ma.Schema):
    id = ma.fields.Integer()
    external_id = ma.fields.String(metadata={"description": "admins and coordinators only"})
    arm = ma.fields.String(metadata={"description": "arm key, or the arm code for blinded callers"})
    arm_code = ma.fields.String()
    features = ma.fields.Dict(metadata={"description": "only for callers who may see arms"})
    link = ma.fields.String(metadata={"description": "sign-in link: only in the enrolment answer"})
    enrolled_at = ma.fields.String()
    stratum = ma.fields.String()
    status = ma.fields.String()
    cluster = ma.fields.String(allow_none=True)


class EnrolConflictSchema(ErrorSchema):
    """409 on enrolment: the error shape plus the stored enrolment when the strata differ."""

    existing = ma.fields.Nested(ParticipantOutSchema, metadata={
        "description": "the stored enrolment (when the external_id is enrolled with other strata)"})


class ParticipantFilterSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(PARTICIPANT_STATUSES))
    arm = ma.fields.String(metadata={
        "description": "arm key; only for callers who may see arms (403 while blinded)"})
    enrolled_after = TimeBound(metadata={"description": "inclusive, with an offset"})
    enrolled_before = TimeBound(metadata={"description": "inclusive, with an offset"})


class UnblindReasonInSchema(ma.Schema):
    reason = Text(required=True, metadata={"minLength": 1, "pattern": r"\S", "description": "why (audited); not blank"})


class WithdrawalInSchema(UnblindReasonInSchema):
    data_use_withdrawn = ma.fields.Boolean(load_default=False)


class LinkReissueInSchema(ma.Schema):
    reason = Text(load_default="")


class LinkReissueOutSchema(ma.Schema):
    participant_id = ma.fields.Integer()
    link = ma.fields.String()
    link_generation = ma.fields.Integer()
    issued_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
class FeaturesOutSchema(ma.Schema):
    """The features of the participant's arm, each completed with its defaults."""

    reminders = ma.fields.Dict(metadata={"description": "policy, times, days, channels, …"})
    self_review = ma.fields.Dict(metadata={"description": "enabled, prompt, usefulness_scale"})
    framing = ma.fields.String(metadata={"description": "framing variant of the homework texts"})
    extra = ma.fields.Dict(metadata={"description": "the study's own flags, as written"})
    status = ma.fields.String(metadata={
        "description": "``withdrawn`` (then no feature is active and nothing else is sent)"})


class EmergencyUnblindOutSchema(ma.Schema):
    participant_id = ma.fields.Integer()
    arm = ma.fields.String()


_load = load_study_participant  # one loader for the API and the pages


@blp.route("/<study_key>/participants")
class ParticipantList(MethodView):
    @blp.arguments(ParticipantFilterSchema, location="query")
    @blp.response(200, ParticipantOutSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=1000)
    def get(self, filters, study_key, pagination_parameters):
        """Participants by id, a page at a time (``X-Pagination`` header); blinded callers see
        arm codes, therapists only their clients."""
        session, principal, study = _load(study_key)
        page = pagination_parameters
        page.item_count = enrolment.count_participants(session, principal, study, filters)
        if page.first_item >= page.item_count:
            return []  # past the end (and no OFFSET beyond the database's integer range)
        return [enrolment.participant_view(principal, study, p)
                for p in enrolment.list_participants(session, principal, study, filters,
                                                     offset=page.first_item, limit=page.page_size)]

    @blp.arguments(EnrolInSchema, examples=ENROL_EXAMPLES)
    @blp.response(201, ParticipantOutSchema)
    @blp.alt_response(200, schema=ParticipantOutSchema, description="replay of a stored enrolment")
    @blp.alt_response(409, schema=EnrolConflictSchema,
                      description="the study is not active, or the external_id is enrolled with "
                                  "other strata (the stored enrolment is under ``existing``)")
    def post(self, body, study_key):
        """Enrol and allocate; the same external_id and strata again answers 200 with the stored body."""
        session, principal, study = _load(study_key)
        enrolment.require_enrol_right(principal)
        done = enrolment.enrol(session, principal, study, body)
        view = enrolment.participant_view(principal, study, done.participant, with_link=True)
        return view, (201 if done.created else 200)


@blp.route("/<study_key>/participants/<int:participant_id>")
class ParticipantItem(MethodView):
    @blp.response(200, ParticipantOutSchema)
    def get(self, study_key, participant_id):
        _session, principal, study, participant = _load(study_key, participant_id)
        return enrolment.participant_view(principal, study, participant)


@blp.route("/<study_key>/participants/<int:participant_id>/link")
class ParticipantLink(MethodView):
    @blp.arguments(LinkReissueInSchema, examples=examples.of("LinkReissueInSchema"))
    @blp.response(201, LinkReissueOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="the participant has withdrawn (no link works)")
    def post(self, body, study_key, participant_id):
        """A new sign-in link; every earlier link and the participant's open sessions are revoked."""
        session, principal, study, participant = _load(study_key, participant_id)
        return enrolment.reissue_link(session, principal, study, participant, body["reason"])
@blp.route("/<study_key>/participants/by-external-id/<path:external_id>")
class ParticipantByExternalId(MethodView):
    @blp.response(200, ParticipantOutSchema)
    def get(self, study_key, external_id):
        """The participant the host knows by ``external_id`` (hwtrial's ``id`` is in the answer)."""
        session, principal, study = _load(study_key)
        participant = enrolment.get_participant_by_external_id(session, principal, study, external_id)
        return enrolment.participant_view(principal, study, participant)


@blp.route("/<study_key>/participants/<int:participant_id>/features")
class ParticipantFeatures(MethodView):
    @blp.response(200, FeaturesOutSchema)
    def get(self, study_key, participant_id):
        """The arm's features; the first exposure to each is recorded."""
        session, _principal, study, participant = _load(study_key, participant_id)
        return features.features_for(session, study, participant, channel="api")


@blp.route("/<study_key>/participants/<int:participant_id>/unblind")
class ParticipantUnblind(MethodView):
    @blp.arguments(UnblindReasonInSchema, examples=examples.of("UnblindReasonInSchema"))
    @blp.response(200, EmergencyUnblindOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="the participant has no allocation")
    def post(self, body, study_key, participant_id):
        """Emergency unblinding of one participant (audited with the reason)."""
        session, principal, study, participant = _load(study_key, participant_id)
        arm = blinding.emergency_unblind(session, principal, study, participant, body["reason"])
        return {"participant_id": participant.id, "arm": arm}


@blp.route("/<study_key>/participants/<int:participant_id>/withdraw")
class ParticipantWithdraw(MethodView):
    @blp.arguments(WithdrawalInSchema, examples=examples.of("WithdrawalInSchema"))
    @blp.response(200, ParticipantOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="the participant is already withdrawn")
    def post(self, body, study_key, participant_id):
        """Withdraw: allocation kept (ITT), open tasks closed, data excluded if consent to use is withdrawn."""
        session, principal, study, participant = _load(study_key, participant_id)
        withdrawal.withdraw(session, principal.actor, study, participant, reason=body["reason"],
                            data_use_withdrawn=body["data_use_withdrawn"])
        return enrolment.participant_view(principal, study, participant)
