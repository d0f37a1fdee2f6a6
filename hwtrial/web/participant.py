"""Participant pages: consent, questionnaires, home, task, self-review. Work without JavaScript.

Each view loads (who and which study), lets a service authorise and act, then renders or
redirects. Every POST checks the CSRF token. Texts come from the study file; interface
strings from the Babel catalogs (:mod:`.participant_i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ..auth.load import SESSION_COOKIE, current_principal, page_row
from ..errors import ServiceError
from ..extensions import get_session
from ..models import Participant, Study, utcnow
from ..services import participant_flow as flow
from ..services import questionnaires, withdrawal
from .csrf import check_csrf
from .participant_i18n import ERROR_TITLES, field_message, format_when, translations

bp = Blueprint("hwtrial_participant", __name__)

#: Form keys that are not answers.
CONTROL_KEYS = {"csrf_token", "action"}


@dataclass(frozen=True)
class Ctx:
    participant: Participant
    study: Study
    definition: dict
    locale: str
    consented: bool
    arm_key: str | None


def _ctx() -> Ctx:
    participant = current_principal().participant
    page = flow.page_context(get_session(), participant, page_row(participant))
    accept = [f"{lang};q={q}" for lang, q in request.accept_languages]
    locale = flow.locale_for(participant, page.definition, accept)
    g.hwtrial_locale = locale
    return Ctx(participant, page.study, page.definition, locale, page.consented, page.arm_key)


def _answers() -> dict[str, Any]:
    return {k: v for k, v in request.form.to_dict(flat=False).items() if k not in CONTROL_KEYS}


def _render(template: str, ctx: Ctx, status: int = 200, **values):
    return render_template(f"hwtrial/participant/{template}", ctx=ctx, **values), status


@bp.app_template_filter("hw_when")
def _when_filter(when, ctx: Ctx) -> str:
    return format_when(when, ctx.participant.timezone, ctx.locale)


@bp.context_processor
def _inject():
    catalog = translations(g.get("hwtrial_locale") or "en")
    return {"_": catalog.gettext, "ngettext": catalog.ngettext, "page_locale": g.get("hwtrial_locale", "en"),
            "field_message": lambda m: field_message(m, catalog.gettext)}


@bp.errorhandler(ServiceError)
def _refused(error: ServiceError):
    """Refusals on participant pages: a translated, plain-language page with the same status."""
    title = ERROR_TITLES.get(error.status, ERROR_TITLES[404])
    return render_template("hwtrial/participant/error.html", title=title, status=error.status,
                           page_locale=g.get("hwtrial_locale", "en")), error.status


@bp.route("/")
def home():
    ctx, session, now = _ctx(), get_session(), utcnow()
    step = flow.next_step(session, ctx.participant, now)
    if step == "withdrawn":
        return _render("withdrawn.html", ctx)
    if step == "consent":
        return redirect(url_for(".consent"))
    if isinstance(step, tuple):
        return redirect(url_for(".questionnaire", timepoint=step[0], instrument=step[1]))
    return _render("home.html", ctx, home=flow.home(session, ctx.participant, now),
                   reminders=_reminder_choice(ctx, now))


def _reminder_choice(ctx: Ctx, now) -> dict | None:
    """The participant's reminder state for the pause/stop form (None: their arm has none)."""
    from ..reminders.preferences import reminders_off_at, reminders_offered

    if not reminders_offered(ctx.definition, ctx.arm_key):
        return None
    return {"off": reminders_off_at(ctx.participant, now), "until": ctx.participant.reminders_paused_until}


@bp.route("/reminders", methods=["POST"])
def reminders():
    """Pause (3 days), stop or resume reminders; back to the task (or home page) it came from."""
    from ..reminders.preferences import set_reminder_choice

    ctx, session, now = _ctx(), get_session(), utcnow()
    check_csrf()
    set_reminder_choice(session, ctx.participant, ctx.definition, ctx.arm_key, request.form.get("action", ""), now)
    task = request.form.get("task", "")
    if task.isdigit() and len(task) < 10:
        return redirect(url_for(".task", instance_id=int(task)))
    return redirect(url_for(".home"))


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    ctx, session = _ctx(), get_session()
    if ctx.consented:
        return redirect(url_for(".home"))
    text = flow.consent_text(ctx.definition, ctx.locale)
    if request.method == "GET":
        return _render("consent.html", ctx, text=text, error=False)
    check_csrf()
    if request.form.get("agree") != "yes":
        return _render("consent.html", ctx, 422, text=text, error=True)
    flow.give_consent(session, ctx.participant, ctx.locale, utcnow())
    return redirect(url_for(".home"))


@bp.route("/questionnaires/<timepoint>/<instrument>", methods=["GET", "POST"])
def questionnaire(timepoint: str, instrument: str):
    ctx, session = _ctx(), get_session()
    if not ctx.consented:  # nothing is asked (or stored, see participant_guard) before consent
        return redirect(url_for(".consent"))
    inst = questionnaires.instrument(ctx.definition, instrument)
    if request.method == "GET":
        return _render("questionnaire.html", ctx, inst=inst, timepoint=timepoint, answers={}, errors={})
    check_csrf()
    try:
        questionnaires.submit(session, ctx.participant, ctx.study, timepoint, instrument, request.form, utcnow())
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("questionnaire.html", ctx, 422, inst=inst, timepoint=timepoint,
                       answers=request.form, errors=error.errors)
    return redirect(url_for(".home"))


@bp.route("/tasks/<int:instance_id>", methods=["GET", "POST"])
def task(instance_id: int):
    ctx, session, now = _ctx(), get_session(), utcnow()
    instance = flow.own_instance(session, ctx.participant, instance_id, now)
    if not ctx.consented:
        return redirect(url_for(".consent"))
    if request.method == "GET":
        view = flow.task_view(session, ctx.participant, instance, ctx.locale, now, ctx.arm_key)
        return _render("task.html", ctx, instance=instance, view=view, values=instance.draft or {},
                       errors={}, saved=request.args.get("saved") == "1", reminders=_reminder_choice(ctx, now))
    check_csrf()
    values = _answers()
    flow.save_draft(session, ctx.participant, instance, values, now)
    # The draft is its own unit of work: a refused submission (422) rolls the request back,
    # and the participant's typing must survive it.
    session.commit()
    if request.form.get("action") == "draft":
        return redirect(url_for(".task", instance_id=instance_id, saved=1))
    try:
        flow.submit(session, ctx.participant, instance, values, now)
    except ServiceError as error:
        if error.status != 422:
            raise
        view = flow.task_view(session, ctx.participant, instance, ctx.locale, now)
        return _render("task.html", ctx, 422, instance=instance, view=view, values=values,
                       errors=error.errors, saved=False)
    if flow.self_review_spec(session, ctx.participant, ctx.locale):
        return redirect(url_for(".review", instance_id=instance_id))
    return redirect(url_for(".done", instance_id=instance_id))


@bp.route("/tasks/<int:instance_id>/draft", methods=["POST"])
def draft(instance_id: int):
    """Autosave from participant.js: the same form fields, answered with JSON."""
    ctx, session, now = _ctx(), get_session(), utcnow()
    instance = flow.own_instance(session, ctx.participant, instance_id, now)
    check_csrf()
    problems = flow.save_draft(session, ctx.participant, instance, _answers(), now)
    return {"saved": True, "problems": problems}


@bp.route("/tasks/<int:instance_id>/review", methods=["GET", "POST"])
def review(instance_id: int):
    ctx, session, now = _ctx(), get_session(), utcnow()
    spec = flow.self_review_spec(session, ctx.participant, ctx.locale)
    instance = flow.own_instance(session, ctx.participant, instance_id, now, allow_final=True)
    if spec is None or instance.state != "submitted":
        return redirect(url_for(".done", instance_id=instance_id))
    if request.method == "GET":
        return _render("review.html", ctx, instance=instance, spec=spec, values={}, errors={})
    check_csrf()
    try:
        flow.self_review(session, ctx.participant, instance_id, ctx.locale, _answers(), now)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("review.html", ctx, 422, instance=instance, spec=spec, values=_answers(),
                       errors=error.errors)
    return redirect(url_for(".done", instance_id=instance_id))


@bp.route("/tasks/<int:instance_id>/done")
def done(instance_id: int):
    ctx = _ctx()
    flow.own_instance(get_session(), ctx.participant, instance_id, utcnow(), allow_final=True)
    return _render("done.html", ctx)


@bp.route("/leave", methods=["GET", "POST"])
def leave():
    """Leave the study (self-withdrawal); the answers given so far stay unless the box is ticked."""
    ctx = _ctx()
    if ctx.participant.status != "active":
        return redirect(url_for(".home"))
    if request.method == "GET":
        return _render("leave.html", ctx)
    check_csrf()
    reason = request.form.get("reason", "").strip() or "left from the participant pages"
    withdrawal.self_withdraw(get_session(), ctx.participant, reason=reason[:2000],
                             data_use_withdrawn=request.form.get("remove_data") == "yes")
    # Withdrawal ended this session too: answer with the farewell page, not a redirect.
    body, status = _render("withdrawn.html", ctx)
    response = current_app.make_response((body, status))
    response.delete_cookie(SESSION_COOKIE)
    return response
