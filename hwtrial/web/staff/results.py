"""The statistician's results page: the results document as tables, with the report's plots.

It calls the same service function as the trial report (``services.report.build_report``)
and renders the same macros (``hwtrial/report/_results.html``), so the page and the
downloadable report never disagree. Blinding is the service's: the view reads no query
parameter at all, so no URL can ask for arm keys.
"""

from __future__ import annotations

from flask import render_template

from ...auth.load import current_principal
from ...auth.policy import ANALYSIS, register
from ...errors import ServiceError
from ...extensions import get_session
from ...services import report as service
from ..errors import render_service_error
from . import bp

register({"hwtrial_staff.study_results": ANALYSIS})


@bp.route("/studies/<study_key>/results")
def study_results(study_key: str):
    try:
        report = service.build_report(get_session(), current_principal(), study_key, stale_ok=True)
    except ServiceError as error:
        return render_service_error(error, "Results")
    return render_template("hwtrial/staff/results/page.html", report=report)
