"""Participants of a study: the list, one participant's page, and the coordinator's actions.

Each action is a POST form with a CSRF token calling the service the API calls
(``api/participants.py``). A sign-in link or an unblinded arm is shown in the answer to the
POST itself, never put in a URL, logged or redirected to (every answer is ``no-store``).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ...auth.load import load_study_participant
from ...auth.policy import COORDINATION, STAFF, UNBLINDING, register
from ...errors import ServiceError
from ...services import blinding, enrolment, withdrawal
from ...services import participant_overview as overview
from ..csrf import check_csrf
from . import bp
from .people_forms import (
    enrol_data,
    enrol_options,
    form_errors,
    list_filters,
    qr_data_uri,
    study_page_path,
    timezone_names,
)

register({
    "hwtrial_staff.participant_list": STAFF,  # therapists: their clients only (in the service)
    "hwtrial_staff.participant_page": STAFF,  # object check: a therapist's own client
    "hwtrial_staff.participant_enrol": COORDINATION,
    "hwtrial_staff.participant_link": COORDINATION,
    "hwtrial_staff.participant_link_revoke": COORDINATION,
    "hwtrial_staff.participant_withdraw": COORDINATION,
    "hwtrial_staff.participant_unblind": UNBLINDING,  # service: the unblinding right
})

#: Notices after a redirect (?done=…): fixed texts, so a crafted URL cannot put words on the page.
DONE = {"withdrawn": "The participant was withdrawn.",
        "revoked": "Every access link of this participant was revoked and their sessions ended."}


_load = load_study_participant  # one loader for the API and the pages


@bp.route("/studies/<study_key>/participants")
def participant_list(study_key):
    session, principal, study = _load(study_key)
    filters = list_filters(request.args)
    listing = overview.list_page(session, principal, study, **filters)
    return render_template("hwtrial/staff/participants/list.html", study=study, listing=listing,
                           filters=filters, study_path=study_page_path(study.key),
                           may_enrol=principal.role in COORDINATION)


@bp.route("/studies/<study_key>/participants/new", methods=["GET", "POST"])
def participant_enrol(study_key):
    session, principal, study = _load(study_key)
    options = enrol_options(session, study)
    if request.method in ("GET", "HEAD"):
        return _enrol_form(study, options, {}, {})
    check_csrf()
    try:
        done = enrolment.enrol(session, principal, study, enrol_data(request.form, options), source="web")
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        return _enrol_form(study, options, request.form, form_errors(error), error.message), error.status
    view = enrolment.participant_view(principal, study, done.participant, with_link=True)
    return _link_page(study, done.participant, view["link"], created=done.created)


def _enrol_form(study, options, values, errors, message=None):
    return render_template("hwtrial/staff/participants/enrol.html", study=study, options=options,
                           values=values, errors=errors, message=message, timezones=timezone_names())


@bp.route("/studies/<study_key>/participants/<int:participant_id>")
def participant_page(study_key, participant_id):
    session, principal, study, participant = _load(study_key, participant_id)
    return _record_page(session, principal, study, participant)


def _record_page(session, principal, study, participant, errors=None, status=200):
    record = overview.participant_record(session, principal, study, participant)
    return render_template(
        "hwtrial/staff/participants/page.html", study=study, record=record, errors=errors or {},
        notice=DONE.get(request.args.get("done", "")), study_path=study_page_path(study.key),
        may_act=principal.role in COORDINATION, may_unblind=blinding.may_unblind(principal),
        values=request.form), status


@bp.route("/studies/<study_key>/participants/<int:participant_id>/link", methods=["POST"])
def participant_link(study_key, participant_id):
    check_csrf()
    session, principal, study, participant = _load(study_key, participant_id)
    issued = enrolment.reissue_link(session, principal, study, participant, request.form.get("reason", ""))
    return _link_page(study, participant, issued["link"], expires_at=issued["expires_at"])


def _link_page(study, participant, link, **extra):
    return render_template("hwtrial/staff/participants/link.html", study=study, participant=participant,
                           pseudonym=overview.pseudonym(participant.id), link=link,
                           qr=qr_data_uri(link), **extra)


@bp.route("/studies/<study_key>/participants/<int:participant_id>/link/revoke", methods=["POST"])
def participant_link_revoke(study_key, participant_id):
    check_csrf()
    session, principal, study, participant = _load(study_key, participant_id)
    enrolment.revoke_link(session, principal, study, participant, request.form.get("reason", ""))
    return redirect(url_for(".participant_page", study_key=study.key, participant_id=participant.id,
                            done="revoked"), 303)


@bp.route("/studies/<study_key>/participants/<int:participant_id>/withdraw", methods=["POST"])
def participant_withdraw(study_key, participant_id):
    check_csrf()
    session, principal, study, participant = _load(study_key, participant_id)
    try:
        withdrawal.withdraw(session, principal.actor, study, participant, reason=request.form.get("reason", ""),
                            data_use_withdrawn=request.form.get("data_use_withdrawn") == "yes")
    except ServiceError as error:
        if error.status != 422:
            raise
        return _record_page(session, principal, study, participant, {"withdraw." + k: v for k, v in
                                                                    form_errors(error).items()}, 422)
    return redirect(url_for(".participant_page", study_key=study.key, participant_id=participant.id,
                            done="withdrawn"), 303)


@bp.route("/studies/<study_key>/participants/<int:participant_id>/unblind", methods=["POST"])
def participant_unblind(study_key, participant_id):
    check_csrf()
    session, principal, study, participant = _load(study_key, participant_id)
    try:
        arm = blinding.emergency_unblind(session, principal, study, participant, request.form.get("reason", ""))
    except ServiceError as error:
        if error.status != 422:
            raise
        return _record_page(session, principal, study, participant, {"unblind." + k: v for k, v in
                                                                    form_errors(error).items()}, 422)
    label = next((a.get("label") for a in study.definition.get("arms", []) if a["key"] == arm), None)
    return render_template("hwtrial/staff/participants/unblinded.html", study=study, participant=participant,
                           pseudonym=overview.pseudonym(participant.id), arm=arm, label=label)
