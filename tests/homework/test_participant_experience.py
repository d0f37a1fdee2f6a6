"""Issue 13 on the Flask test client: safety message, farewell page, language and time zone,
home-page progress, questionnaire marks, thank-you page, Spanish dates."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hwtrial.models import AuditEntry, OutboxMessage, Participant, utcnow
from hwtrial.web.participant_i18n import format_day, format_when

from ..enrolment.test_recruitment_cli import STRATA, enter, entry
from .conftest import csrf, db
from .test_participant_pages import GOOD, PHQ9_OK, answer_baseline, first_open, started

ES = {"Accept-Language": "es-ES,es;q=0.9"}


def actions(app, name: str) -> list[dict]:
    """The audit entries of one action, as recorded (target, before, after)."""
    with app.app_context():
        return [json.loads(e.payload) for e in db(app).scalars(sa.select(AuditEntry).where(AuditEntry.action == name))]


def consent(client, **extra) -> None:
    assert client.post("/p/consent", data={"csrf_token": csrf(client, "/p/consent"), "agree": "yes",
                                           **extra}).status_code == 302


# --- safety ---------------------------------------------------------------------------------

def test_item_9_shows_crisis_contacts_in_the_participants_language_and_audits_it(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct", locale="es")
    client = sign_in(pid)
    consent(client)
    url = "/p/questionnaires/baseline/phq9"
    sent = client.post(url, data={"csrf_token": csrf(client, url), **PHQ9_OK, "phq9_9": "2"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(url + "/support")
    page = client.get(url + "/support").get_data(as_text=True)
    assert "Hay ayuda disponible" in page and "Línea 024" in page and 'href="tel:024"' in page
    assert "Teléfono de la Esperanza" in page and "Samaritans" not in page  # the Spanish list only
    [shown] = actions(app, "safety_message.shown")
    assert shown["after"]["locale"] == "es" and shown["after"]["crisis_contacts"] == 2
    assert shown["target"].startswith("safety_alert:")
    assert len(actions(app, "safety_alert.raise")) == 1


def test_no_support_page_without_an_alert(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    client = sign_in(enrol("reminder-rct"))
    consent(client)
    url = "/p/questionnaires/baseline/phq9"
    sent = client.post(url, data={"csrf_token": csrf(client, url), **PHQ9_OK})
    assert sent.status_code == 302 and not sent.headers["Location"].endswith("/support")
    assert client.get(url + "/support").status_code == 404
    assert actions(app, "safety_message.shown") == []


# --- withdrawal -----------------------------------------------------------------------------

def test_withdrawn_by_a_coordinator_reads_the_contact_and_what_happens_to_their_data(
        app, client, load_study, enrol, sign_in, shift_past, instances, make_user, bearer):
    pid, browser = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    coord = bearer(make_user("coordinator")[1])
    assert client.post(f"/api/v1/studies/reminder-rct/participants/{pid}/withdraw",
                       json={"reason": "moved away"}, headers=coord).status_code == 200
    task_link = browser.get(f"/p/tasks/{iid}")
    page = task_link.get_data(as_text=True)
    assert task_link.status_code == 410 and "You have left the study" in page
    assert "reminder-study@example.org" in page  # support.contact of the study file
    assert "kept and may be used" in page and "does not exist" not in page


def test_farewell_says_when_the_answers_are_not_used(app, load_study, enrol, sign_in, shift_past):
    pid, client = started(load_study, enrol, sign_in, shift_past, locale="es")
    left = client.post("/p/leave", data={"csrf_token": csrf(client, "/p/leave"), "remove_data": "yes"})
    page = left.get_data(as_text=True)
    assert "no se usen las respuestas" in page and "reminder-study@example.org" in page


# --- language -------------------------------------------------------------------------------

def test_prolific_entry_takes_the_browsers_language(app, load_study):
    load_study("reminder-rct")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-ES,es;q=0.9"
    start = client.get(entry(app) + STRATA).get_data(as_text=True)
    assert "Bienvenida" in start and "Homework reminders in CBT for depression" in start
    assert enter(client, entry(app) + STRATA).status_code == 302
    with app.app_context():
        assert db(app).scalars(sa.select(Participant.locale)).one() == "es"
    assert "Acepto participar" in client.get("/p/consent").get_data(as_text=True)


def test_prolific_entry_switcher_choice_wins_over_the_browser(app, load_study):
    load_study("reminder-rct")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-ES"
    url = entry(app) + STRATA + "&lang=en"
    assert "Welcome" in client.get(url).get_data(as_text=True)
    assert enter(client, url).status_code == 302
    with app.app_context():
        assert db(app).scalars(sa.select(Participant.locale)).one() == "en"


def test_api_enrolment_keeps_the_default_and_the_switcher_stores_the_choice(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")  # no locale: the study default is stored
    client = sign_in(pid)
    page = client.get("/p/consent", headers=ES).get_data(as_text=True)
    assert "Before you start" in page and "Ver esta página en español" in page  # offered, in Spanish
    switched = client.post("/p/language", data={"csrf_token": csrf(client, "/p/consent"), "locale": "es",
                                                "next": "/p/consent?"})
    assert switched.status_code == 302 and switched.headers["Location"].startswith("/p/consent")
    assert "Antes de empezar" in client.get("/p/consent").get_data(as_text=True)
    with app.app_context():
        assert db(app).get(Participant, pid).locale == "es"
    [changed] = actions(app, "participant.locale")
    assert changed["before"] == {"locale": "en"} and changed["after"] == {"locale": "es"}


def test_language_switcher_refuses_other_locales_and_other_sites(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    client = sign_in(enrol("reminder-rct"))
    token = csrf(client, "/p/consent")
    assert client.post("/p/language", data={"csrf_token": token, "locale": "de"}).status_code == 422
    away = client.post("/p/language", data={"csrf_token": token, "locale": "es", "next": "//evil.example/p/"})
    assert away.headers["Location"] == "/p/"


def test_start_page_is_branded_localised_and_keeps_the_choice(app, load_study, enrol):
    from ..browser.test_participant_browser import link
    from .test_participant_pages import csrf_from_page

    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    client = app.test_client()
    start = link(app, pid)
    # Enrolled by the API without a locale: the study default, with Spanish offered in Spanish
    page = client.get(start, headers=ES).get_data(as_text=True)
    assert "Welcome" in page and "Homework reminders in CBT for depression" in page and ">hwtrial<" not in page
    assert "Ver esta página en español" in page
    assert "Bienvenida" in client.get(start + "&lang=es", headers=ES).get_data(as_text=True)
    token = re.search(r"token=([^&]+)", start).group(1)
    page = client.get(start + "&lang=es")
    signed = client.post("/p/start", data={"token": token, "csrf_token": csrf_from_page(page), "lang": "es"})
    assert signed.status_code == 302
    assert "Antes de empezar" in client.get("/p/consent").get_data(as_text=True)
    with app.app_context():
        assert db(app).get(Participant, pid).locale == "es"


def test_a_bad_link_gets_the_plain_start_page_in_the_browsers_language(client):
    page = client.get("/p/start?token=nope", headers=ES).get_data(as_text=True)
    assert "Bienvenida" in page and 'lang="es"' in page


# --- dates and time zones -------------------------------------------------------------------

def test_dates_are_babel_dates_in_each_language():
    thursday = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert format_day(thursday, "Europe/Madrid", "es") == "jueves, 3 de diciembre"
    assert format_when(thursday, "Europe/Madrid", "es") == "jueves, 3 de diciembre, 19:00"
    assert format_when(thursday, "America/New_York", "en") == "Thursday, December 3, 1:00\u202fPM"
    assert format_when(thursday, "Europe/Madrid", "es", show_zone=True).endswith("(hora de España (Madrid))")


def test_spanish_home_page_dates(app, load_study, enrol, sign_in, shift_past):
    pid, client = started(load_study, enrol, sign_in, shift_past, locale="es", timezone="Europe/Madrid")
    page = client.get("/p/").get_data(as_text=True)
    days = "lunes|martes|miércoles|jueves|viernes|sábado|domingo"
    months = "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
    assert re.search(rf"({days}), \d{{1,2}} de ({months}), \d{{1,2}}:\d\d", page)


def test_consent_takes_the_browsers_time_zone_and_replans(app, load_study, enrol, sign_in, instances):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")  # no time zone given: UTC
    new_york = ZoneInfo("America/New_York")
    assert {r["open_at"].astimezone(new_york).hour for r in instances(pid)} != {17}
    client = sign_in(pid)
    consent(client, timezone="America/New_York")
    with app.app_context():
        assert db(app).get(Participant, pid).timezone == "America/New_York"
    # 19:00 local, open two hours before: 17:00 in New York now, for every task not yet done
    assert {r["open_at"].astimezone(new_york).hour for r in instances(pid)} == {17}
    [change] = actions(app, "participant.timezone")
    assert change["after"] == {"timezone": "America/New_York", "via": "browser"}


def test_consent_keeps_a_time_zone_given_at_enrolment(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct", timezone="Europe/Madrid")
    client = sign_in(pid)
    consent(client, timezone="America/New_York")
    with app.app_context():
        assert db(app).get(Participant, pid).timezone == "Europe/Madrid"


def test_changing_the_time_zone_replans_pending_reminders(app, load_study, enrol, sign_in):
    from hwtrial.reminders.queueing import queue_reminders

    load_study("reminder-rct")
    pid = enrol("reminder-rct", arm="reminders", email="p@example.org", timezone="Europe/London")
    client = sign_in(pid)
    answer_baseline(client)
    with app.app_context():
        queue_reminders(db(app), utcnow(), horizon=timedelta(days=4))
        db(app).commit()
        old = set(db(app).scalars(sa.select(OutboxMessage.dedupe_key).where(
            OutboxMessage.participant_id == pid, OutboxMessage.status == "pending")))
    assert old
    page = client.get("/p/settings").get_data(as_text=True)
    assert 'name="timezone"' in page and "United Kingdom Time" in page
    saved = client.post("/p/settings", data={"csrf_token": csrf(client, "/p/settings"),
                                             "timezone": "Asia/Tokyo"})
    assert saved.status_code == 302
    with app.app_context():
        rows = db(app).execute(sa.select(OutboxMessage.dedupe_key, OutboxMessage.status).where(
            OutboxMessage.participant_id == pid)).all()
        assert db(app).get(Participant, pid).timezone == "Asia/Tokyo"
    status = dict(rows)
    in_horizon = [k for k in old if status[k] == "cancelled"]
    assert in_horizon, "the reminders at London times were not cancelled"
    # The change re-plans the worker's horizon at once; later Tokyo reminders come with the
    # next pass (whether one falls in the short horizon depends on the hour the test runs:
    # enrolled after 15:00 UTC, the Tokyo enrolment day is the next day).
    with app.app_context():
        queue_reminders(db(app), utcnow(), horizon=timedelta(days=4))
        db(app).commit()
        rows = db(app).execute(sa.select(OutboxMessage.dedupe_key, OutboxMessage.status).where(
            OutboxMessage.participant_id == pid)).all()
    assert all(s == "cancelled" for k, s in rows if k in old), rows
    assert any(s == "pending" and k not in old for k, s in rows), ("no reminder at the Tokyo times", rows)
    bad = client.post("/p/settings", data={"csrf_token": csrf(client, "/p/settings"), "timezone": "Mars/Base"})
    assert bad.status_code == 422 and "Please choose a time zone" in bad.get_data(as_text=True)


def test_times_carry_their_zone_when_the_browser_is_elsewhere(app, load_study, enrol, sign_in, shift_past):
    pid, client = started(load_study, enrol, sign_in, shift_past, timezone="Europe/London")
    assert "(United Kingdom Time)" not in client.get("/p/").get_data(as_text=True)
    client.set_cookie("hwtrial_browser_tz", "America/New_York")
    assert "(United Kingdom Time)" in client.get("/p/").get_data(as_text=True)


# --- home, tasks, questionnaires ------------------------------------------------------------

def test_home_names_the_study_and_counts_what_was_due(app, load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    page = client.get("/p/").get_data(as_text=True)
    assert "<h1>Homework reminders in CBT for depression</h1>" in page and "Your study" not in page
    assert "No task has been due yet" in page and "0 of 13" not in page
    assert "Thought record" in page  # the template's title, not its key
    iid = first_open(instances, pid)
    client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"), "action": "submit", **GOOD})
    page = client.get("/p/").get_data(as_text=True)
    assert "You have done 1 of the 1 task due so far." in page
    assert f'href="/p/tasks/{iid}/entry"' in page
    entry_page = client.get(f"/p/tasks/{iid}/entry").get_data(as_text=True)
    assert "Meeting at work" in entry_page and "One comment is not a verdict" in entry_page


def test_tasks_are_sorted_by_due_time_and_late_ones_say_so(app, load_study, enrol, sign_in, shift, instances):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    first = instances(pid)[0]
    # An hour before the first task expires: it is late (due a day ago), the second one is open.
    shift(pid, (first["expire_at"] - utcnow()).total_seconds() / 3600 + 1 - 2)
    client = sign_in(pid)
    answer_baseline(client)
    page = client.get("/p/").get_data(as_text=True)
    today = re.search(r'<ul class="stack" id="today">(.*?)</ul>', page, re.S).group(1)
    ids = [int(i) for i in re.findall(r'/p/tasks/(\d+)"', today)]
    rows = {r["id"]: r for r in instances(pid)}
    assert ids == sorted(ids, key=lambda i: rows[i]["due_at"]) and len(ids) >= 2
    assert "late, but you can still do it" in today
    late = next(i for i in ids if rows[i]["due_at"] < utcnow())
    assert "This task is late, but you can still do it" in client.get(f"/p/tasks/{late}").get_data(as_text=True)


def test_questionnaire_introduces_itself_and_marks_required(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    client = sign_in(enrol("reminder-rct"))
    consent(client)
    page = client.get("/p/questionnaires/baseline/phq9").get_data(as_text=True)
    assert "Questionnaire 1 of 2" in page and "9 questions, about 3 minutes" in page
    # PHQ-9 scores with one item missing (prorated), so no item is marked required
    assert "You may leave out 1 question." in page and page.count("(required)") == 0
    gad = client.get("/p/questionnaires/baseline/gad7").get_data(as_text=True)
    assert "Questionnaire 2 of 2" in gad


def test_ratings_are_number_boxes_that_participant_js_turns_into_sliders(app, load_study, enrol, sign_in,
                                                                         shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    page = client.get(f"/p/tasks/{first_open(instances, pid)}").get_data(as_text=True)
    rating = re.search(r'<input type="number" id="f-intensity"[^>]*>', page, re.S).group(0)
    assert 'data-rating' in rating and 'min="0"' in rating and 'max="100"' in rating
    assert 'id="f-intensity-req">required<' in page and 'id="f-evidence_for-req">optional<' in page


def test_self_review_shows_what_the_participant_wrote(app, load_test_study, enrol, sign_in, shift_past,
                                                      instances):
    load_test_study("framing-trial")
    pid = enrol("framing-trial", arm="community", locale="en")
    shift_past(pid, "open_at")
    client = sign_in(pid)
    answer_baseline(client)
    iid = first_open(instances, pid)
    client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"), "action": "submit", **GOOD})
    review = client.get(f"/p/tasks/{iid}/review").get_data(as_text=True)
    assert "What you wrote" in review and "They think I am useless" in review
    assert "What did you learn from this record?" in review


def test_complete_without_a_completion_url_is_a_thank_you_page(app, load_study, enrol, sign_in):
    load_study("mrt-reminders")
    client = sign_in(enrol("mrt-reminders"))
    page = client.get("/p/complete")
    assert page.status_code == 200 and "Thank you for taking part" in page.get_data(as_text=True)
    assert "Not Found" not in page.get_data(as_text=True)


def test_home_has_the_time_zone_setting_and_the_language_switcher(app, load_study, enrol, sign_in, shift_past):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    page = client.get("/p/").get_data(as_text=True)
    assert 'href="/p/settings"' in page and "Change time zone" in page
    assert 'name="locale" value="es"' in page and ">español<" in page
