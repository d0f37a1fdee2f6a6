"""The trial report as one self-contained HTML file (``GET .../report.html``).

The file carries its CSS in one ``<style>`` element and its plots as SVG data URIs, so it
opens with no network. The answer's own Content-Security-Policy allows exactly that — the
one style element (by its SHA-256) and data: images — and nothing else: no script, no
fetch, no font, no form. Blinded callers get the blinded report (the service decides).
"""

from __future__ import annotations

import base64
import hashlib
from importlib.resources import files

from flask import Response, render_template
from flask.views import MethodView

from ..auth.policy import ANALYSIS, register
from ..services import report as service
from .common import Blueprint, current_principal, get_session

blp = Blueprint("hwtrial_report", __name__, description="The trial report (HTML, CONSORT)")

register({"hwtrial_report.StudyReport": ANALYSIS})  # like the results; blinded by the service


def hwtrial_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hwtrial")
    except PackageNotFoundError:  # a checkout that is not installed
        return "unknown"


def report_css() -> str:
    return (files("hwtrial") / "templates/hwtrial/report/report.css").read_text(encoding="utf-8")


def report_csp(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


def report_html(report: service.TrialReport) -> str:
    """The report rendered (inside an app context: the CLI's or the request's)."""
    return render_template("hwtrial/report/report.html", report=report, report_css=report_css(),
                           version=hwtrial_version())


@blp.route("/<study_key>/report.html")
class StudyReport(MethodView):
    @blp.doc(responses={"200": {"description": "The trial report: one self-contained HTML file",
                                "content": {"text/html": {"schema": {"type": "string"}}}}})
    def get(self, study_key):
        """The trial report (design, CONSORT, plots, result tables), blinded unless the caller may see arms."""
        report = service.build_report(get_session(), current_principal(), study_key)
        response = Response(report_html(report), mimetype="text/html")
        response.headers["Content-Security-Policy"] = report_csp(report_css())
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{report.study_key}-report.html"')
        return response
