"""Participant pages: consent, questionnaires, home, task, self-review. Work without JavaScript.

Each view loads (who and which study), lets a service authorise and act, then renders or
redirects. Every POST checks the CSRF token. Texts come from the study file; interface
strings from the Babel catalogs (:mod:`.participant_i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    after_this_request,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)

from ..api.fields import whole_number
from ..auth.load import SESSION_COOKIE, current_principal, page_row
from ..errors import ServiceError
from ..extensions import get_session
from ..homework import pick_locale
from ..models import Participant, Study, utcnow
from ..services import participant_entry, questionnaires, safety_message, withdrawal
from ..services import participant_flow as flow
from ..services import participant_settings as settings
from ..services.participant_settings import valid_timezone
from .csrf import check_csrf
from .headers import secure_cookies
from .participant_i18n import (
    ERROR_TITLES,
    SHOW_IN,
    field_message,
    format_day,
    format_when,
    language_name,
    translations,
    zone_name,
)

bp = Blueprint("hwtrial_participant", __name__)

#: Form keys that are not answers.
CONTROL_KEYS = {"csrf_token", "action"}
#: Set by participant.js: the browser's IANA time zone (read only to show times with their zone).
BROWSER_TZ_COOKIE = "hwtrial_browser_tz"
#: The language chosen on the link's start page, carried over the sign-in and stored on the
#: first participant page (the start page belongs to web/auth.py and stores nothing).
LANG_CHOICE_COOKIE = "hwtrial_lang_choice"
START_ENDPOINT = "hwtrial_auth.participant_start"
#: Languages of hwtrial's own catalogs, for pages that know no study.
CATALOG_LOCALES = ("en", "es")


@dataclass(frozen=True)
class Ctx:
    participant: Participant
    study: Study
    definition: dict
    locale: str
    consented: bool
    arm_key: str | None
    #: The browser's language when it is another of the study's locales (offered by the switcher).
    suggested_locale: str | None = None
    #: The browser's time zone (participant.js), when known.
    browser_tz: str | None = None

    @property
    def show_zone(self) -> bool:
        """Times carry their zone when the browser is in another one."""
        return self.browser_tz is not None and self.browser_tz != self.participant.timezone


def accept_languages() -> list[str]:
    return [f"{lang};q={q}" for lang, q in request.accept_languages]


def _ctx() -> Ctx:
    participant = current_principal().participant
    page = flow.page_context(get_session(), participant, page_row(participant))
    _store_start_choice(participant, page)
    accept = accept_languages()
    locale = flow.locale_for(participant, page.definition, accept)
    browser = flow.browser_locale(page.definition, accept)
    g.hwtrial_locale = locale
    return Ctx(participant, page.study, page.definition, locale, page.consented, page.arm_key,
               browser if browser != locale else None, valid_timezone(request.cookies.get(BROWSER_TZ_COOKIE)))


def _store_start_choice(participant: Participant, page: flow.PageContext) -> None:
    """Keep the language picked on the start page (once; the cookie is then removed)."""
    chosen = request.cookies.get(LANG_CHOICE_COOKIE)
    if not chosen:
        return
    if chosen in (page.definition.get("locales") or []) and participant.status == "active":
        settings.set_locale(get_session(), participant, page.study, page.definition, chosen)

    @after_this_request
    def _forget(response):
        response.delete_cookie(LANG_CHOICE_COOKIE, path=url_for("hwtrial_participant.home"))
        return response


def _answers() -> dict[str, Any]:
    return {k: v for k, v in request.form.to_dict(flat=False).items() if k not in CONTROL_KEYS}


def _render(template: str, ctx: Ctx, status: int = 200, **values):
    return render_template(f"hwtrial/participant/{template}", ctx=ctx, **values), status


@bp.app_template_filter("hw_when")
def _when_filter(when, ctx: Ctx) -> str:
    return format_when(when, ctx.participant.timezone, ctx.locale, show_zone=ctx.show_zone)


@bp.app_template_filter("hw_day")
def _day_filter(when, ctx: Ctx) -> str:
    return format_day(when, ctx.participant.timezone, ctx.locale)


def i18n_values(locale: str) -> dict:
    """What every participant-facing template needs to speak ``locale``."""
    catalog = translations(locale)
    return {"_": catalog.gettext, "ngettext": catalog.ngettext, "page_locale": locale,
            "field_message": lambda m: field_message(m, catalog.gettext),
            "language_name": language_name, "zone_name": lambda tz: zone_name(tz, locale),
            "show_in": lambda other: translations(other).gettext(SHOW_IN) % {"language": language_name(other)}}


@bp.context_processor
def _inject():
    return i18n_values(g.get("hwtrial_locale") or "en")


@bp.app_context_processor
def _start_page():
    """The link's start page (rendered by web/auth.py): the study's title, the participant's language."""
    if not has_request_context() or request.endpoint != START_ENDPOINT:  # e.g. `hwtrial report`
        return {}
    config, asked = current_app.config, request.values.get("lang")
    page = participant_entry.from_link(
        get_session(), config["HWTRIAL_SECRET_KEY"], request.values.get("token", ""),
        timedelta(days=config["HWTRIAL_PARTICIPANT_LINK_DAYS"]), asked, accept_languages())
    if page is None:
        locale = asked if asked in CATALOG_LOCALES else pick_locale(None, accept_languages(), CATALOG_LOCALES, "en")
        return {**i18n_values(locale), "start": None}
    browser = flow.browser_locale(page.definition, accept_languages())
    return {**i18n_values(page.locale), "start": page, "start_suggested": browser if browser != page.locale else None}


@bp.after_app_request
def _carry_start_choice(response):
    """A language picked on the start page is kept across the sign-in (see :func:`_store_start_choice`)."""
    if request.endpoint != START_ENDPOINT or request.method != "POST" or response.status_code != 302:
        return response  # (reading another request's form could raise, e.g. one too large)
    chosen = request.form.get("lang", "")
    if 0 < len(chosen) <= 20:
        response.set_cookie(LANG_CHOICE_COOKIE, chosen, max_age=600, httponly=True, samesite="Lax",
                            path=url_for("hwtrial_participant.home"),
                            secure=secure_cookies())
    return response


@bp.errorhandler(ServiceError)
def _refused(error: ServiceError):
    """Refusals on participant pages: a translated, plain-language page with the same status.

    A browser whose session withdrawal revoked gets the farewell page (410) instead.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    if error.status == 401 and cookie:
        page = participant_entry.withdrawn_by_session(get_session(), cookie, accept_languages())
        if page is not None:
            g.hwtrial_locale = page.locale
            return render_template("hwtrial/participant/withdrawn.html", farewell=page.farewell,
                                   brand=page.farewell.study_title), 410
    title = ERROR_TITLES.get(error.status, ERROR_TITLES[404])
    return render_template("hwtrial/participant/error.html", title=title, status=error.status,
                           page_locale=g.get("hwtrial_locale", "en")), error.status


def _farewell(ctx: Ctx) -> participant_entry.Farewell:
    return participant_entry.farewell(ctx.definition, ctx.participant, ctx.locale)


@bp.route("/")
def home():
    ctx, session, now = _ctx(), get_session(), utcnow()
    step = flow.next_step(session, ctx.participant, now)
    if step == "withdrawn":
        return _render("withdrawn.html", ctx, farewell=_farewell(ctx))
    if step == "consent":
        return redirect(url_for(".consent"))
    if isinstance(step, tuple):
        return redirect(url_for(".questionnaire", timepoint=step[0], instrument=step[1]))
    return _render("home.html", ctx, home=flow.home(session, ctx.participant, now, ctx.locale, ctx.arm_key),
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
    task = whole_number(request.form.get("task"))
    if task is not None:
        return redirect(url_for(".task", instance_id=task))
    return redirect(url_for(".home"))


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    ctx, session = _ctx(), get_session()
    if ctx.consented:
        return redirect(url_for(".home"))
    text = flow.consent_text(ctx.definition, ctx.locale)
    if request.method in ("GET", "HEAD"):
        return _render("consent.html", ctx, text=text, error=False)
    check_csrf()
    if request.form.get("agree") != "yes":
        return _render("consent.html", ctx, 422, text=text, error=True)
    flow.give_consent(session, ctx.participant, ctx.locale, utcnow(), request.form.get("timezone"))
    return redirect(url_for(".home"))


@bp.route("/questionnaires/<timepoint>/<instrument>", methods=["GET", "POST"])
def questionnaire(timepoint: str, instrument: str):
    ctx, session = _ctx(), get_session()
    if not ctx.consented:  # nothing is asked (or stored, see participant_guard) before consent
        return redirect(url_for(".consent"))
    inst = questionnaires.instrument(ctx.definition, instrument)
    place = flow.questionnaire_position(ctx.definition, timepoint, instrument)
    if request.method in ("GET", "HEAD"):
        return _render("questionnaire.html", ctx, inst=inst, timepoint=timepoint, answers={}, errors={},
                       place=place)
    check_csrf()
    try:
        response = questionnaires.submit(session, ctx.participant, ctx.study, timepoint, instrument,
                                         request.form, utcnow())
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("questionnaire.html", ctx, 422, inst=inst, timepoint=timepoint,
                       answers=request.form, errors=error.errors, place=place)
    if safety_message.raised_alert(session, response):  # the participant sees support first
        return redirect(url_for(".support", timepoint=timepoint, instrument=instrument))
    return redirect(url_for(".home"))


@bp.route("/questionnaires/<timepoint>/<instrument>/support")
def support(timepoint: str, instrument: str):
    """Support and crisis contacts after an endorsed safety item (audited each time shown)."""
    ctx = _ctx()
    shown = safety_message.show(get_session(), ctx.participant, ctx.study, ctx.definition, timepoint,
                                instrument, ctx.locale, utcnow())
    return _render("support.html", ctx, support=shown)


@bp.route("/tasks/<int:instance_id>", methods=["GET", "POST"])
def task(instance_id: int):
    ctx, session, now = _ctx(), get_session(), utcnow()
    instance = flow.own_instance(session, ctx.participant, instance_id, now)
    if not ctx.consented:
        return redirect(url_for(".consent"))
    if request.method in ("GET", "HEAD"):
        view = flow.task_view(session, ctx.participant, instance, ctx.locale, now, ctx.arm_key)
        return _render("task.html", ctx, instance=instance, view=view, values=instance.draft or {}, now=now,
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
        view = flow.task_view(session, ctx.participant, instance, ctx.locale, now, ctx.arm_key)
        return _render("task.html", ctx, 422, instance=instance, view=view, values=values, now=now,
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
    entry = flow.entry_view(session, ctx.participant, instance, ctx.locale, ctx.arm_key)
    if request.method in ("GET", "HEAD"):
        return _render("review.html", ctx, instance=instance, spec=spec, values={}, errors={}, entry=entry)
    check_csrf()
    try:
        flow.self_review(session, ctx.participant, instance_id, ctx.locale, _answers(), now)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _render("review.html", ctx, 422, instance=instance, spec=spec, values=_answers(),
                       errors=error.errors, entry=entry)
    return redirect(url_for(".done", instance_id=instance_id))


@bp.route("/tasks/<int:instance_id>/done")
def done(instance_id: int):
    ctx = _ctx()
    flow.own_instance(get_session(), ctx.participant, instance_id, utcnow(), allow_final=True)
    return _render("done.html", ctx, instance_id=instance_id)


@bp.route("/tasks/<int:instance_id>/entry")
def entry(instance_id: int):
    """The participant's own submitted homework, read only (linked from "Done so far")."""
    ctx, session = _ctx(), get_session()
    instance = flow.own_instance(session, ctx.participant, instance_id, utcnow(), allow_final=True)
    if instance.state != "submitted":
        return redirect(url_for(".task", instance_id=instance_id))
    return _render("entry.html", ctx, instance=instance,
                   entry=flow.entry_view(session, ctx.participant, instance, ctx.locale, ctx.arm_key))


@bp.route("/leave", methods=["GET", "POST"])
def leave():
    """Leave the study (self-withdrawal); the answers given so far stay unless the box is ticked."""
    ctx = _ctx()
    if ctx.participant.status != "active":
        return redirect(url_for(".home"))
    if request.method in ("GET", "HEAD"):
        return _render("leave.html", ctx)
    check_csrf()
    reason = request.form.get("reason", "").strip() or "left from the participant pages"
    withdrawal.self_withdraw(get_session(), ctx.participant, reason=reason[:2000],
                             data_use_withdrawn=request.form.get("remove_data") == "yes")
    # Withdrawal ended this session too: answer with the farewell page, not a redirect.
    body, status = _render("withdrawn.html", ctx, farewell=_farewell(ctx))
    response = current_app.make_response((body, status))
    response.delete_cookie(SESSION_COOKIE)
    return response


from . import participant_settings  # noqa: E402,F401  (its routes join this blueprint)
