"""Homework for care staff (ad hoc assignment, review, lists) and safety alerts for coordinators."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..services import assignment, questionnaires
from ..services import homework as service
from ..services.blinding import homework_for
from ..services.studies import get_study
from . import examples
from .common import Blueprint, current_principal, get_session
from .fields import Instant, Text

blp = Blueprint("hwtrial_homework", __name__, description="Homework and safety alerts")


# Required fields are checked by the service AFTER it has checked that the participant is the
# caller's client, so someone else's client answers 404 whatever the body (load, authorise, act).
class AssignInSchema(ma.Schema):
    # Required in the document all the same: a body without them is always refused.
    OPENAPI = {"required": ["template", "due_at"]}

    #: Required: a homework template key of the study.
    template = Text(load_default=None, max_length=80)
    #: Required: aware ISO time.
    due_at = Instant(load_default=None)
    #: Default: now (at most 10 minutes in the past).
    open_at = Instant(load_default=None, metadata={
        "description": "When the client can start (default: now; at most 10 minutes in the past)."})
    #: Default: 24 hours after ``due_at``.
    expire_at = Instant(load_default=None)
    #: The client's texts as the therapist edited them: ``{"intro": str, "fields": {field:
    #: {"label": str, "help": str}}}`` (``title`` too for ad hoc work, template ``adhoc``).
    #: Keys left out or equal to the template's default wording are no change.
    tailoring = ma.fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "The client's texts as the therapist edited them: {\"intro\": str, \"fields\": "
                       "{field: {\"label\": str, \"help\": str}}}, plus \"title\" for ad hoc work "
                       "(template \"adhoc\", which needs an intro). Unchanged keys are no change; the "
                       "starting texts are the template's default wording. Stored and reported as "
                       "`tailoring` (errors name e.g. tailoring.fields.situation.label)."})


class ReviewInSchema(ma.Schema):
    OPENAPI = {"required": ["reviewer_role"]}  # checked by the service, as above

    #: Required: client or therapist.
    reviewer_role = Text(load_default=None, max_length=10, metadata={"enum": ["client", "therapist"]})
    #: ``{"reflection": str, "usefulness": int}``.
    answers = ma.fields.Dict(load_default=dict)


class TailoringOutSchema(ma.Schema):
    """Which adaptations a therapist made (a research variable)."""

    template_key = ma.fields.String()
    #: Locale of the texts started from.
    locale = ma.fields.String()
    #: User id of the therapist who tailored the work.
    tailored_by = ma.fields.Integer()
    tailored_at = ma.fields.DateTime()
    #: The template's default texts (never an arm's framing).
    original = ma.fields.Dict()
    #: Only the changed keys, as the client reads them.
    tailored = ma.fields.Dict()
    #: ``[{key, original, tailored}]``, one per edited key.
    changes = ma.fields.List(ma.fields.Dict())


class HomeworkOutSchema(ma.Schema):
    id = ma.fields.Integer()
    participant_id = ma.fields.Integer()
    template_key = ma.fields.String()
    slot_key = ma.fields.String()
    origin = ma.fields.String()
    state = ma.fields.String()
    open_at = ma.fields.DateTime()
    scheduled_at = ma.fields.DateTime()
    due_at = ma.fields.DateTime()
    expire_at = ma.fields.DateTime()
    delivered_at = ma.fields.DateTime(allow_none=True)
    opened_at = ma.fields.DateTime(allow_none=True)
    started_at = ma.fields.DateTime(allow_none=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    expired_at = ma.fields.DateTime(allow_none=True)
    late = ma.fields.Boolean()
    submission = ma.fields.Dict(allow_none=True)
    #: The client's own self-review (hidden from callers blinded to arms: only some arms have one).
    self_review = ma.fields.Dict(allow_none=True)
    #: ``client`` once the client self-reviewed.
    reviewer_role = ma.fields.String(allow_none=True)
    #: Always null since the therapist's review has columns of its own (kept for old clients).
    reviewed_by = ma.fields.Integer(allow_none=True)
    reviewed_at = ma.fields.DateTime(allow_none=True, metadata={"description": "when the client self-reviewed"})
    therapist_review = ma.fields.Dict(allow_none=True, metadata={
        "description": "the review the therapist recorded (reflection, usefulness)"})
    therapist_review_led = ma.fields.String(allow_none=True, metadata={
        "enum": ["therapist", "client"], "description": "who led the therapist's review"})
    therapist_reviewed_by = ma.fields.Integer(allow_none=True, metadata={"description": "staff user who recorded it"})
    therapist_reviewed_at = ma.fields.DateTime(allow_none=True)
    metrics = ma.fields.Dict(allow_none=True)
    #: Staff user who assigned ad hoc work.
    assigned_by = ma.fields.Integer(allow_none=True)
    #: None when the client reads the template's texts unchanged.
    tailoring = ma.fields.Nested(TailoringOutSchema, allow_none=True, metadata={
        "description": "Which adaptations the therapist made (original, tailored, changes); "
                       "null when the client reads the template unchanged."})


class AlertQuerySchema(ma.Schema):
    open_only = ma.fields.Boolean(load_default=False)


class AcknowledgeInSchema(ma.Schema):
    note = Text(load_default="")


class AlertOutSchema(ma.Schema):
    id = ma.fields.Integer()
    participant_id = ma.fields.Integer()
    response_id = ma.fields.Integer()
    reason = ma.fields.String()
    created_at = ma.fields.DateTime()
    acknowledged_at = ma.fields.DateTime(allow_none=True)
    acknowledged_by = ma.fields.Integer(allow_none=True)


@blp.route("/<study_key>/participants/<int:participant_id>/homework")
class ClientHomework(MethodView):
    @blp.response(200, HomeworkOutSchema(many=True))
    def get(self, study_key, participant_id):
        """One client's homework (a therapist sees only their own clients)."""
        session, principal = get_session(), current_principal()
        study = get_study(session, principal, study_key)
        rows = service.list_homework(session, principal, study, participant_id)
        return [homework_for(principal, study, row) for row in rows]

    @blp.arguments(AssignInSchema, examples=examples.of("AssignInSchema"))
    @blp.response(201, HomeworkOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="the participant has withdrawn")
    def post(self, body, study_key, participant_id):
        """Assign homework to one of your own clients: a study template or ``adhoc``, tailored.

        Errors name the field: ``template``, ``open_at``, ``due_at``, ``expire_at`` and
        ``tailoring.intro``, ``tailoring.fields.<field>.label`` and so on.
        """
        session, principal = get_session(), current_principal()
        study = get_study(session, principal, study_key)
        return assignment.assign_homework(session, principal, study, participant_id, **body)


@blp.route("/<study_key>/homework")
class HomeworkList(MethodView):
    @blp.response(200, HomeworkOutSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=1000)
    def get(self, study_key, pagination_parameters):
        """Homework of the caller's clients (therapists) or of everyone (coordinators), by
        participant and time, a page at a time (``X-Pagination`` header)."""
        session, principal = get_session(), current_principal()
        study = get_study(session, principal, study_key)
        page = pagination_parameters
        page.item_count = service.count_homework(session, principal, study)
        if page.first_item >= page.item_count:
            return []  # past the end (and no OFFSET beyond the database's integer range)
        rows = service.list_homework(session, principal, study, offset=page.first_item, limit=page.page_size)
        return [homework_for(principal, study, row) for row in rows]


@blp.route("/<study_key>/homework/<int:instance_id>/review")
class HomeworkReview(MethodView):
    @blp.arguments(ReviewInSchema, examples=examples.of("ReviewInSchema"))
    @blp.response(200, HomeworkOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="only submitted homework can be reviewed")
    def post(self, body, study_key, instance_id):
        """Review submitted homework, recording who reviewed it (client or therapist)."""
        session, principal = get_session(), current_principal()
        study = get_study(session, principal, study_key)
        return service.review(session, principal, study, instance_id, **body)


@blp.route("/<study_key>/safety-alerts")
class SafetyAlertList(MethodView):
    @blp.arguments(AlertQuerySchema, location="query")
    @blp.response(200, AlertOutSchema(many=True))
    def get(self, query, study_key):
        """Safety alerts raised by questionnaire answers (e.g. PHQ-9 item 9)."""
        session, principal = get_session(), current_principal()
        return questionnaires.list_alerts(session, get_study(session, principal, study_key), **query)


@blp.route("/<study_key>/safety-alerts/<int:alert_id>/acknowledge")
class SafetyAlertAcknowledge(MethodView):
    @blp.arguments(AcknowledgeInSchema, examples=examples.of("AcknowledgeInSchema"))
    @blp.response(200, AlertOutSchema)
    def post(self, body, study_key, alert_id):
        """Confirm an alert was acted on (audited)."""
        session, principal = get_session(), current_principal()
        study = get_study(session, principal, study_key)
        return questionnaires.acknowledge(session, principal, study, alert_id, body["note"])
