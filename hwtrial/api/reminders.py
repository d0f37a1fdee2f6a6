"""Deliveries (reminders, alerts) of a study: what was sent, what failed, requeue a dead one."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..reminders import outbox
from ..services.studies import get_study
from .common import Blueprint, current_principal, get_session
from .fields import Text

blp = Blueprint("hwtrial_reminders", __name__, description="Reminder and alert deliveries")


class OutboxQuerySchema(ma.Schema):
    status = Text(load_default=None, validate=ma.validate.OneOf(outbox.STATUS_FILTERS))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**31 - 1))


class OutboxOutSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Function(lambda m: m.payload.get("kind"))
    channel = ma.fields.String()
    status = ma.fields.String()
    participant_id = ma.fields.Integer(allow_none=True)
    due_at = ma.fields.AwareDateTime()
    #: Handed to the channel, and acknowledged by it (SMTP accepted / webhook answered 2xx).
    sent_at = ma.fields.AwareDateTime(allow_none=True)
    delivered_at = ma.fields.AwareDateTime(allow_none=True)
    #: The micro-randomised decision point a reminder belongs to (its log has the same times).
    decision_id = ma.fields.Function(lambda m: m.payload.get("decision_id"), allow_none=True)
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    local_time = ma.fields.Function(lambda m: m.payload.get("local_time"))


@blp.route("/<study_key>/reminders")
class ReminderList(MethodView):
    @blp.arguments(OutboxQuerySchema, location="query")
    @blp.response(200, OutboxOutSchema(many=True))
    def get(self, query, study_key):
        """Deliveries of the study, newest first (``status=failed|dead|sent|pending|cancelled``)."""
        session = get_session()
        return outbox.list_outbox(session, get_study(session, current_principal(), study_key), **query)


@blp.route("/<study_key>/reminders/<int:message_id>/requeue")
class ReminderRequeue(MethodView):
    @blp.response(200, OutboxOutSchema)
    def post(self, study_key, message_id):
        """Send a dead or failing delivery again now (audited)."""
        session, principal = get_session(), current_principal()
        return outbox.requeue(session, principal, get_study(session, principal, study_key), message_id)
