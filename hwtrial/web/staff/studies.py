"""Study files (coordination): upload or paste a file and see its problems with their lines,
save it as a draft, activate, amend with a reason (and see the diff), close."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ...api.fields import text_problem, whole_number
from ...auth.policy import COORDINATION, register
from ...errors import ServiceError
from ...extensions import get_session
from ...services import studies, study_files
from ..csrf import check_csrf
from . import bp

register({
    "hwtrial_staff.study_new": COORDINATION,
    "hwtrial_staff.study_file": COORDINATION,
    "hwtrial_staff.study_status": COORDINATION,
    "hwtrial_staff.study_versions": COORDINATION,
})

#: Reasons are audited text; the same bound as other free text.
REASON_LIMIT = 2000


def _principal():
    from ...auth.load import current_principal

    return current_principal()


def _submitted_text() -> study_files.FileCheck:
    """The uploaded file if one was chosen, else the pasted text; checked."""
    upload = request.files.get("file")
    text = request.form.get("text", "")
    if upload is not None and upload.filename:
        raw = upload.read(study_files.MAX_TEXT + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _unreadable(raw, "the file is not UTF-8 text")
        problem = text_problem(text, study_files.MAX_TEXT)
        if problem:
            return _unreadable(raw, problem)
    return study_files.check_text(text, upload.filename if upload is not None and upload.filename else "study file")


def _unreadable(raw: bytes, message: str) -> study_files.FileCheck:
    from ...studydef import Problem

    return study_files.FileCheck("", None, (Problem("upload", "<file>", message),))


@bp.route("/study-files/new", methods=["GET", "POST"])
def study_new():
    if request.method in ("GET", "HEAD"):
        return render_template("hwtrial/staff/studies/new.html", check=None)
    check_csrf()
    check = _submitted_text()
    if check.definition is None or request.form.get("action") != "save":
        status = 422 if check.problems else 200
        return render_template("hwtrial/staff/studies/new.html", check=check), status
    try:
        study = study_files.create_draft(get_session(), _principal(), check)
    except ServiceError as error:  # the key exists, or a token scoped to studies
        return render_template("hwtrial/staff/studies/new.html", check=check, error=error), error.status
    return redirect(url_for(".study_file", study_key=study.key, saved=1))


def _file_page(study, check=None, reason="", error=None, status=200):
    text = check.text if check is not None else study_files.version_text(study, study.current_version)
    return render_template("hwtrial/staff/studies/file.html", study=study, text=text, check=check,
                           reason=reason, error=error, saved=request.args.get("saved")), status


@bp.route("/studies/<study_key>/file", methods=["GET", "POST"])
def study_file(study_key):
    session, principal = get_session(), _principal()
    study = studies.get_study(session, principal, study_key)
    if request.method in ("GET", "HEAD"):
        return _file_page(study)
    check_csrf()
    check = _submitted_text()
    reason = request.form.get("reason", "")[:REASON_LIMIT]
    if check.definition is None:
        return _file_page(study, check, reason, status=422)
    try:
        study = study_files.amend_from_file(session, principal, study, check, reason)
    except ServiceError as error:  # locked design, missing reason, other study, closed: say so here
        return _file_page(study, check, reason, error, status=error.status)
    if study.status == "draft":
        return redirect(url_for(".study_file", study_key=study.key, saved=1))
    return redirect(url_for(".study_versions", study_key=study.key))


@bp.route("/studies/<study_key>/status", methods=["POST"])
def study_status(study_key):
    check_csrf()
    session, principal = get_session(), _principal()
    study = studies.get_study(session, principal, study_key)
    to_status = request.form.get("status", "")
    if to_status not in ("active", "closed"):
        raise ServiceError(422, "choose a status", {"status": ["must be active or closed"]})
    studies.transition(session, principal, study, to_status, request.form.get("reason", "")[:REASON_LIMIT])
    return redirect(url_for(".study_page", study_key=study.key))


@bp.route("/studies/<study_key>/versions")
def study_versions(study_key):
    study = studies.get_study(get_session(), _principal(), study_key)
    new = _version_arg("to", study.current_version)
    old = _version_arg("from", max(1, new - 1))
    diff = study_files.version_diff(study, old, new) if old != new else []
    return render_template("hwtrial/staff/studies/versions.html", study=study, old=old, new=new, diff=diff)


def _version_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    if not value:
        return default
    number = whole_number(value, 6)
    if number is None:
        raise ServiceError(400, f"{name} must be a version number", {name: ["not a version number"]})
    return number
