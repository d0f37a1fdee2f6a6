"""The study list and the study page (design, enrolment, balance, adherence, safety alerts,
reminder deliveries), with the acknowledge and requeue forms."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ...auth.policy import COORDINATION, STAFF, register
from ...extensions import get_session
from ...reminders import outbox
from ...services import questionnaires
from ...services.studies import get_study
from ...services.study_dashboard import study_dashboard
from ...services.study_overview import study_summaries
from ..csrf import check_csrf
from . import bp
from .figures import study_figures

register({
    "hwtrial_staff.study_list": STAFF,
    "hwtrial_staff.study_page": STAFF,  # the service leaves out what the caller's role may not see
    "hwtrial_staff.acknowledge_alert": COORDINATION,
    "hwtrial_staff.requeue_delivery": COORDINATION,
})


def _principal():
    from ...auth.load import current_principal

    return current_principal()


@bp.route("/studies")
def study_list():
    return render_template("hwtrial/staff/dashboard/list.html",
                           studies=study_summaries(get_session(), _principal()))


@bp.route("/studies/<study_key>")
def study_page(study_key):
    session, principal = get_session(), _principal()
    board = study_dashboard(session, principal, get_study(session, principal, study_key))
    return render_template("hwtrial/staff/dashboard/study.html", board=board, figures=study_figures(board))


@bp.route("/studies/<study_key>/safety-alerts/<int:alert_id>/acknowledge", methods=["POST"])
def acknowledge_alert(study_key, alert_id):
    check_csrf()
    session, principal = get_session(), _principal()
    study = get_study(session, principal, study_key)
    questionnaires.acknowledge(session, principal, study, alert_id, request.form.get("note", "")[:2000])
    return redirect(url_for(".study_page", study_key=study.key, _anchor="safety-alerts"))


@bp.route("/studies/<study_key>/deliveries/<int:message_id>/requeue", methods=["POST"])
def requeue_delivery(study_key, message_id):
    check_csrf()
    session, principal = get_session(), _principal()
    outbox.requeue(session, principal, get_study(session, principal, study_key), message_id)
    return redirect(url_for(".study_page", study_key=study_key, _anchor="deliveries"))
