"""The audit log viewer (coordination): filter by study, actor, action and time, page through,
and verify the hash chain on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import render_template, request

from ...api.fields import text_problem, whole_number
from ...auth.policy import COORDINATION, register
from ...extensions import get_session
from ...services import audit, audit_log
from ...services.studies import list_studies
from . import bp

register({"hwtrial_staff.audit_log": COORDINATION})


def _principal():
    from ...auth.load import current_principal

    return current_principal()


def _filters() -> tuple[audit_log.AuditFilter, int, dict[str, str]]:
    """The query's filters; a bad value is reported next to its field (and left out)."""
    args, errors = request.args, {}
    text = {}
    for name, limit in (("study", 80), ("actor", 120), ("action", 80)):
        value = args.get(name, "").strip()
        if value and text_problem(value, limit):
            errors[name] = text_problem(value, limit)
            value = ""
        text[name] = value or None
    days = {}
    for name in ("since", "until"):
        value = args.get(name, "")
        try:
            days[name] = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC) if value else None
        except ValueError:
            errors[name] = "use a date like 2026-01-31"
            days[name] = None
    until = days["until"] + timedelta(days=1) if days["until"] else None  # the whole day
    page = whole_number(args.get("page"), 6) or 1
    return (audit_log.AuditFilter(study_key=text["study"], actor=text["actor"], action=text["action"],
                                  since=days["since"], until=until), page, errors)


@bp.route("/audit", endpoint="audit_log")
def audit_log_page():
    session, principal = get_session(), _principal()
    filters, page, errors = _filters()
    result = audit_log.audit_page(session, principal, filters, page)
    report = audit.verify(session) if request.args.get("verify") == "1" else None
    query = {k: v for k, v in request.args.items() if k in ("study", "actor", "action", "since", "until") and v}
    return render_template("hwtrial/staff/audit/log.html", result=result, report=report, errors=errors,
                           query=query, studies=[s.key for s in list_studies(session, principal)]), (
        400 if errors else 200)
