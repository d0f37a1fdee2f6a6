"""Engagement events: idempotent batches from participant pages (session cookie) and host platforms."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..models import utcnow
from ..services import events as service
from ..services.studies import get_study
from . import examples
from .common import Blueprint, current_principal, get_session

blp = Blueprint("hwtrial_events", __name__, description="Engagement events")


class EventBatchSchema(ma.Schema):
    """``{"events": [{id, participant?, instance?, type, client_time, payload?}, …]}``.

    Events are checked by the service in one pass (each problem named by its index);
    the schema only insists on a list, so a 1,000-event batch is not walked twice.
    """

    events = ma.fields.List(ma.fields.Raw(), required=True)


class EventBatchOutSchema(ma.Schema):
    #: Events in the batch (new and replayed alike: a replay answers as the first time did).
    accepted = ma.fields.Integer()
    ids = ma.fields.List(ma.fields.String())


@blp.route("/<study_key>/events")
class EventBatch(MethodView):
    @blp.arguments(EventBatchSchema, examples=examples.of("EventBatchSchema"))
    @blp.response(200, EventBatchOutSchema)
    def post(self, body, study_key):
        """Store up to 1,000 events; replays are harmless, a reused id with another body is 422."""
        session, principal = get_session(), current_principal()
        study = get_study(session, principal, study_key)
        return service.ingest(session, principal, study, body["events"], utcnow())
