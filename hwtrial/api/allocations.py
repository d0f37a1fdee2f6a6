"""Allocation-list export and study-level unblinding (two people)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from ..services import blinding, studies
from . import examples
from .common import Blueprint, current_principal, get_session
from .fields import Text

blp = Blueprint("hwtrial_allocations", __name__, description="Allocation list and unblinding")


class AllocationExportArgsSchema(ma.Schema):
    format = Text(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))


class StudyUnblindingInSchema(ma.Schema):
    reason = Text(required=True, metadata={"minLength": 1, "pattern": r"\S", "description": "why (audited); not blank"})


class StudyUnblindingOutSchema(ma.Schema):
    id = ma.fields.Integer()
    requested_by = ma.fields.Integer()
    reason = ma.fields.String()
    requested_at = ma.fields.DateTime()
    approved_by = ma.fields.Integer(allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)


@blp.route("/<study_key>/allocations")
class AllocationList(MethodView):
    @blp.arguments(AllocationExportArgsSchema, location="query")
    @blp.response(200)
    def get(self, args, study_key):
        """The allocation list (unblinding right only; audited). ``?format=csv`` for CSV."""
        session, principal = get_session(), current_principal()
        study = studies.get_study(session, principal, study_key)
        rows = blinding.export_rows(session, principal, study)
        if args["format"] == "csv":
            return Response(blinding.rows_as_csv(rows), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{study.key}-allocations.csv"'})
        return rows


@blp.route("/<study_key>/unblinding")
class UnblindingRequestList(MethodView):
    @blp.arguments(StudyUnblindingInSchema, examples=examples.of("StudyUnblindingInSchema"))
    @blp.response(201, StudyUnblindingOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="the study is already unblinded")
    def post(self, body, study_key):
        """Ask for study-level unblinding; a different authorised person must approve."""
        session, principal = get_session(), current_principal()
        study = studies.get_study(session, principal, study_key)
        return blinding.request_unblinding(session, principal, study, body["reason"])


@blp.route("/<study_key>/unblinding/<int:request_id>/approve")
class UnblindingApproval(MethodView):
    @blp.response(200, StudyUnblindingOutSchema)
    @blp.alt_response(409, response="CONFLICT",
                      description="already approved, or the approver is the requester")
    def post(self, study_key, request_id):
        """Approve (not by the requester): the study is unblinded from now on."""
        session, principal = get_session(), current_principal()
        study = studies.get_study(session, principal, study_key)
        return blinding.approve_unblinding(session, principal, study, request_id)
