"""Results API: the full results document of a study (blinded unless the caller may see arms)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..services import results as service
from .common import Blueprint, current_principal, get_session
from .fields import Text

blp = Blueprint("hwtrial_results", __name__, description="Trial results (statistical analysis)")


_NAME = "|".join(service.SECTIONS)
#: One grammar for the document and the server: known names, separated by commas.
SECTIONS_PATTERN = f"^({_NAME})(,({_NAME}))*$"


class ResultsQuerySchema(ma.Schema):
    population = Text(validate=ma.validate.OneOf(["itt", "per_protocol"]))
    #: Comma-separated section names (default: every section).
    sections = Text(max_length=1000, validate=ma.validate.Regexp(
        SECTIONS_PATTERN, error=f"comma-separated, from: {', '.join(service.SECTIONS)}"))


class ResultsArmSchema(ma.Schema):
    label = ma.fields.String(metadata={"description": "arm key, or arm code when blinded"})
    ratio = ma.fields.Raw(metadata={"type": "number"})


class ResultsOutSchema(ma.Schema):
    """The results document; each section is ``{"status": "ok" | "not_estimable" | …, …}``."""

    study = ma.fields.String()
    title = ma.fields.String()
    version = ma.fields.Integer()
    blinded = ma.fields.Boolean()
    arm_labels = ma.fields.String(metadata={"enum": ["code", "key"]})
    arms = ma.fields.List(ma.fields.Nested(ResultsArmSchema))
    reference_arm = ma.fields.String(allow_none=True)
    level = ma.fields.Float(metadata={"description": "confidence level of every interval"})
    populations = ma.fields.List(ma.fields.String())
    flags = ma.fields.List(ma.fields.String(), metadata={
        "description": "warnings to read before any estimate (sample-ratio mismatches)"})
    sections = ma.fields.Dict(keys=ma.fields.String(), metadata={
        "description": f"by section name ({', '.join(service.SECTIONS)})"})


@blp.route("/<study_key>/results")
class StudyResults(MethodView):
    @blp.arguments(ResultsQuerySchema, location="query")
    @blp.response(200, ResultsOutSchema)  # built by the service; the schema documents it
    def get(self, query, study_key):
        """Every pre-specified analysis with estimates, SEs, CIs, p-values, n and methods."""
        return service.build_results(get_session(), current_principal(), study_key,
                                     population=query.get("population"),
                                     sections=query.get("sections"))
