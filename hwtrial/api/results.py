"""Results API: the full results document of a study (blinded unless the caller may see arms)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..services import results as service
from .common import Blueprint, current_principal, get_session
from .fields import Text

blp = Blueprint("hwtrial_results", __name__, description="Trial results (statistical analysis)")


class ResultsQuerySchema(ma.Schema):
    population = Text(validate=ma.validate.OneOf(["itt", "per_protocol"]))
    #: Comma-separated section names (default: every section).
    sections = Text(max_length=1000)


@blp.route("/<study_key>/results")
class StudyResults(MethodView):
    @blp.arguments(ResultsQuerySchema, location="query")
    @blp.response(200)  # the document is built and serialised by the service
    def get(self, query, study_key):
        """Every pre-specified analysis with estimates, SEs, CIs, p-values, n and methods."""
        return service.build_results(get_session(), current_principal(), study_key,
                                     population=query.get("population"),
                                     sections=query.get("sections"))
