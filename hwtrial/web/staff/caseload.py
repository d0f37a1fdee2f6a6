"""The therapist workspace: caseload, a client's homework, assigning tailored work, review, trajectory.

Views are thin: load (the service decides whether the caller may care for this client and
answers 404 otherwise), check the CSRF token on POST, call one service function — the one
the API calls — and render. Nothing here shows an arm: the services return none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import redirect, render_template, request, url_for

from ...auth.load import current_principal
from ...auth.policy import CARE, register
from ...errors import ServiceError
from ...extensions import get_session
from ...models import utcnow
from ...plots import lines
from ...services import assignment, caseload, homework
from ..csrf import check_csrf
from . import bp

register({f"hwtrial_staff.{name}": CARE for name in (
    "caseload", "client", "assign", "review_homework", "trajectory")})

#: Default time until homework set on the form is due.
DEFAULT_DUE = timedelta(days=2)
#: Form keys that are not review answers.
_CONTROL = {"csrf_token", "reviewer_role"}


def _when(value: datetime | None, timezone: str) -> str:
    """A time in the client's own time zone (what the client sees too)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _render(name: str, status: int = 200, **values):
    return render_template(f"hwtrial/staff/caseload/{name}.html", when=_when, **values), status


class CaseloadQuery(ma.Schema):
    therapist = ma.fields.Integer(load_default=None, strict=False, validate=ma.validate.Range(1, 2**31 - 1))


@bp.route("/caseload", endpoint="caseload")
def caseload_page():
    try:
        query = CaseloadQuery().load(request.args, unknown=ma.EXCLUDE)
    except ma.ValidationError as error:
        raise ServiceError(422, "invalid filter", error.messages) from None
    view = caseload.caseload(get_session(), current_principal(), therapist_id=query["therapist"])
    return _render("list", view=view, principal=current_principal())


@bp.route("/caseload/clients/<int:participant_id>")
def client(participant_id: int):
    view = caseload.client_view(get_session(), current_principal(), participant_id)
    return _render("client", view=view)


class AssignForm(ma.Schema):
    """The assignment form; times are the client's local times (``datetime-local``)."""

    template = ma.fields.String(load_default=None, validate=ma.validate.Length(max=80))
    open_at = ma.fields.NaiveDateTime(load_default=None)
    due_at = ma.fields.NaiveDateTime(load_default=None)
    expire_at = ma.fields.NaiveDateTime(load_default=None)


def _blank_to_none(form) -> dict:
    return {k: (form.get(k) or None) for k in ("template", "open_at", "due_at", "expire_at")}


def _assign_body(form, participant, fields) -> tuple[dict, dict]:
    """Service arguments from the form, and the form's own problems (bad times) by field."""
    try:
        body, errors = AssignForm().load(_blank_to_none(form)), {}
    except ma.ValidationError as error:
        body = {k: v for k, v in (error.valid_data or {}).items()}
        errors = {k: ["not a valid date and time" if k != "template" else "at most 80 characters"]
                  for k in error.messages}
    zone = ZoneInfo(participant.timezone)
    for key in ("open_at", "due_at", "expire_at"):
        if body.get(key) is not None:
            body[key] = body[key].replace(tzinfo=zone)
    edits = {"intro": form.get("intro"),
             "fields": {spec["key"]: {"label": form.get(f"label-{spec['key']}"),
                                      "help": form.get(f"help-{spec['key']}")} for spec in fields}}
    if form.get("title") is not None:
        edits["title"] = form.get("title")
    body["tailoring"] = edits
    return body, errors


def _assign_form(view, template_key: str | None):
    """The template's texts to start from (default framing), or None before one is chosen."""
    if not template_key or template_key not in dict(view.templates):
        return None, []
    definition = view.study.definition
    locale = assignment.client_locale(definition, view.participant)
    return (assignment.original_texts(definition, template_key, locale),
            homework.template_spec(definition, template_key)["fields"])


def _default_due(participant) -> str:
    """Two days from now in the client's time zone, as ``datetime-local`` wants it."""
    return (utcnow() + DEFAULT_DUE).astimezone(ZoneInfo(participant.timezone)).strftime("%Y-%m-%dT%H:%M")


@bp.route("/caseload/clients/<int:participant_id>/assign", methods=["GET", "POST"])
def assign(participant_id: int):
    session, principal = get_session(), current_principal()
    view = caseload.client_view(session, principal, participant_id)  # 404 before anything else
    chosen = request.values.get("template")
    texts, fields = _assign_form(view, chosen)
    form = {"view": view, "chosen": chosen, "texts": texts, "fields": fields,
            "default_due": _default_due(view.participant)}
    if request.method in ("GET", "HEAD"):
        return _render("assign", values={}, errors={}, **form)
    check_csrf()
    body, form_errors = _assign_body(request.form, view.participant, fields)
    try:
        if form_errors:
            raise ServiceError(422, "the homework cannot be set as given", form_errors)
        instance = assignment.assign_homework(session, principal, view.study, participant_id, **body)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("assign", 422, values=request.form, errors=error.errors, **form)
    return redirect(url_for(".client", participant_id=participant_id, assigned=instance.id))


@bp.route("/caseload/homework/<int:instance_id>", methods=["GET", "POST"])
def review_homework(instance_id: int):
    session, principal = get_session(), current_principal()
    view = caseload.homework_view(session, principal, instance_id)  # 404 before anything else
    if request.method in ("GET", "HEAD"):
        return _render("review", view=view, values={}, errors={})
    check_csrf()
    answers = {k: v for k, v in request.form.to_dict(flat=False).items() if k not in _CONTROL}
    try:
        homework.review(session, principal, view.study, instance_id,
                        reviewer_role=request.form.get("reviewer_role") or None, answers=answers)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("review", 422, view=view, values=request.form, errors=error.errors)
    return redirect(url_for(".review_homework", instance_id=instance_id, reviewed=1))


@bp.route("/caseload/clients/<int:participant_id>/trajectory")
def trajectory(participant_id: int):
    data = caseload.trajectory(get_session(), current_principal(), participant_id)
    return _render("trajectory", data=data, plots=_trajectory_plots(data))


@lru_cache(maxsize=256)
def _lines(title: str, series: tuple, ylabel: str, xlabel: str):
    """A plot drawn once per input (~0.15 s each): reloading a trajectory redraws nothing."""
    return lines(title, {name: list(points) for name, points in series}, ylabel=ylabel, xlabel=xlabel)


def _trajectory_plots(data) -> list:
    scores: dict[str, list] = {}
    for score in data.scores:
        if score.total is not None:
            scores.setdefault(score.instrument, []).append((score.submitted_at, score.total))
    weeks = data.weeks
    return [
        _lines("Questionnaire scores over time", tuple((k, tuple(v)) for k, v in scores.items()),
               "Total score", "Date"),
        _lines("Homework per week", (("Due", tuple((w.number, w.due) for w in weeks)),
                                     ("Submitted", tuple((w.number, w.submitted) for w in weeks))),
               "Homework", "Week since enrolment"),
        _lines("Minutes on task per week", (("Minutes", tuple((w.number, w.minutes) for w in weeks)),),
               "Minutes", "Week since enrolment"),
    ]
