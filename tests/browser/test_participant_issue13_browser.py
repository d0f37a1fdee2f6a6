"""Issue 13 in real Chromium at 390 px, in English and Spanish, with axe-core on every page.

Each page of a journey is screenshotted (``<lang>-<nn>-<page>.png``, see conftest.py) and
checked for serious or critical accessibility violations.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hwtrial.models import AuditEntry, Participant, Study

from ..enrolment.test_recruitment_cli import STRATA, entry
from ..homework.conftest import db
from .conftest import CHROMIUM, check_page, phone, shot
from .test_participant_browser import link

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

#: What the pages say, per language (the browser's language and the participant's).
WORDS = {
    "en": {"browser": "en-GB", "agree": "I have read this and I agree to take part.", "welcome": "Welcome",
           "support": "Support is available", "crisis": "Samaritans", "step1": "Questionnaire 1 of 2",
           "step2": "Questionnaire 2 of 2", "progress": "No task has been due yet",
           "intensity": "How strong was the emotion? (0-100)", "required": "required",
           "late": "late, but you can still do it", "left": "You have left the study",
           "thanks": "Thank you for taking part", "wrote": "What you wrote", "zone": "Times are shown in",
           "task": "Thought record", "usefulness": "How useful was this task? (0 = not at all, 10 = very)",
           "learn": "What did you learn?", "save_review": "Save my answers", "settings": "Settings",
           "tz_differs": "This device is set to"},
    "es": {"browser": "es-ES", "agree": "He leído esto y acepto participar.", "welcome": "Bienvenida",
           "support": "Hay ayuda disponible", "crisis": "Línea 024", "step1": "Cuestionario 1 de 2",
           "step2": "Cuestionario 2 de 2", "progress": "Todavía no ha vencido ninguna tarea",
           "intensity": "¿Qué tan intensa fue la emoción? (0-100)", "required": "obligatoria",
           "late": "con retraso, pero aún puede hacerla", "left": "Ha dejado el estudio",
           "thanks": "Gracias por participar", "wrote": "Lo que escribió", "zone": "Las horas se muestran en",
           "task": "Registro de pensamientos", "usefulness": None, "learn": None, "save_review": None,
           "settings": "Ajustes", "tz_differs": "Este dispositivo usa"},
}
LANGS = ["en", "es"]


def answer_all(page, item9: str | None = None) -> None:
    """Pick the first answer of every item (``item9``: the value of PHQ-9 item 9), then send."""
    for fieldset in page.locator("main fieldset").all():
        fieldset.locator("input[type=radio]").first.check()
    if item9 is not None:
        page.locator(f"#f-phq9_9-{item9}").check()
    page.locator("main form button[type=submit]").click()


def consent_and_baseline(page, agree: str) -> None:
    """Start page → consent → any baseline questionnaire still open → home."""
    page.locator("main form button[type=submit]").click()
    page.get_by_label(agree).check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    while "/questionnaires/" in page.url:
        answer_all(page)
        page.wait_for_load_state()
    page.wait_for_url("**/p/")


def audit_actions(app, pid: int) -> list[dict]:
    with app.app_context():
        return [json.loads(e.payload) for e in db(app).scalars(sa.select(AuditEntry).where(
            AuditEntry.actor == f"participant:{pid}"))]


@pytest.mark.parametrize("lang", LANGS)
def test_prolific_journey_safety_home_task(app, server, browser, load_study, lang):
    """/r/<study> in the browser's language → consent (browser time zone) → PHQ-9 with item 9
    endorsed → support page → GAD-7 → home → task with sliders → entry → settings."""
    words = WORDS[lang]
    load_study("reminder-rct")
    page = phone(browser, words["browser"], "America/New_York")
    page.goto(server + entry(app, pid=f"pp-{lang}", session_id=f"s-{lang}") + STRATA)
    assert words["welcome"] in page.locator("h1").inner_text()
    assert page.locator(".brand").inner_text() == "Homework reminders in CBT for depression"
    check_page(page, f"{lang}-01-recruitment-start")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/p/consent")
    assert page.locator("html").get_attribute("lang") == lang
    check_page(page, f"{lang}-02-consent")
    page.get_by_label(words["agree"]).check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/p/questionnaires/baseline/phq9")
    assert page.locator("#q-step").inner_text() == words["step1"]
    check_page(page, f"{lang}-03-phq9")
    answer_all(page, item9="2")
    page.wait_for_url("**/support")
    assert words["support"] in page.locator("h1").inner_text()
    assert words["crisis"] in page.locator("#crisis-contacts").inner_text()
    check_page(page, f"{lang}-04-support")
    with app.app_context():
        participant = db(app).scalars(sa.select(Participant).where(Participant.external_id == f"pp-{lang}")).one()
        pid, stored = participant.id, (participant.locale, participant.timezone)
    assert stored == (lang, "America/New_York")  # language and time zone from the browser
    assert "safety_message.shown" in {a["action"] for a in audit_actions(app, pid)}
    page.locator("main p a").last.click()
    page.wait_for_url("**/p/questionnaires/baseline/gad7")
    assert page.locator("#q-step").inner_text() == words["step2"]
    answer_all(page)
    page.wait_for_url("**/p/")
    assert page.locator("h1").inner_text() == "Homework reminders in CBT for depression"
    assert words["progress"] in page.locator("#progress").inner_text()
    assert words["zone"] in page.locator("#zone-line").inner_text()
    check_page(page, f"{lang}-05-home")
    page.goto(server + "/p/settings")
    assert page.locator("#timezone").input_value() == "America/New_York"
    check_page(page, f"{lang}-06-settings")


@pytest.mark.parametrize("lang", LANGS)
def test_task_sliders_review_entry_and_thank_you(app, server, browser, load_test_study, enrol, shift_past, lang):
    """A late-but-open task with 0-100 sliders (number shown), self-review showing the entry,
    the done page, the entry page and the thank-you page of a study without a completion URL."""
    words = WORDS[lang]
    load_test_study("framing-trial")
    pid = enrol("framing-trial", arm="community", locale=lang, timezone="Europe/Madrid")
    shift_past(pid, "due_at")  # due an hour ago, still accepted
    page = phone(browser, words["browser"], "Europe/London")  # the browser is in another zone
    page.goto(server + link(app, pid))
    check_page(page, f"{lang}-10-link-start")
    consent_and_baseline(page, words["agree"])
    assert words["late"] in page.locator("#today").inner_text()
    assert "(" in page.locator("#today").inner_text()  # times carry their zone: the browser is elsewhere
    assert words["task"] in page.locator("#today").inner_text()
    check_page(page, f"{lang}-11-home-late")
    page.locator("#today a").first.click()
    page.wait_for_url("**/p/tasks/*")
    assert page.locator("#late-note").is_visible()
    slider = page.get_by_label(words["intensity"], exact=True)
    assert slider.get_attribute("type") == "range"  # participant.js turned the number box into a slider
    assert page.locator("#f-intensity-value").inner_text() != "50"  # "not chosen yet", not the midpoint
    check_page(page, f"{lang}-12-task")
    fields = page.locator("main form textarea, main form input[type=text]")
    for i in range(fields.count()):
        fields.nth(i).fill(f"entry {i} in {lang}")
    slider.fill("80")
    assert page.locator("#f-intensity-value").inner_text() == "80"
    assert slider.get_attribute("aria-valuetext") == "80"
    page.locator("#f-rerated_intensity").fill("40")
    page.locator("main form button[value=submit]").click()
    page.wait_for_url("**/review")
    assert words["wrote"] in page.locator("main").inner_text() and f"entry 0 in {lang}" in page.locator("main").inner_text()
    check_page(page, f"{lang}-13-review")
    page.locator("#f-usefulness").fill("7")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/done")
    check_page(page, f"{lang}-14-done")
    page.locator("main a").first.click()
    page.wait_for_url("**/entry")
    assert f"entry 0 in {lang}" in page.locator("main").inner_text()
    check_page(page, f"{lang}-15-entry")
    page.goto(server + "/p/settings")
    assert words["tz_differs"] in page.locator("#tz-differs").inner_text()
    page.goto(server + "/p/complete")
    assert words["thanks"] in page.locator("h1").inner_text()
    check_page(page, f"{lang}-16-thank-you")


@pytest.mark.parametrize("lang", LANGS)
def test_withdrawn_participant_pages(app, server, browser, load_study, enrol, shift_past, lang):
    """After a coordinator's withdrawal the old link and the task link show the farewell page."""
    from hwtrial.services.withdrawal import withdraw

    words = WORDS[lang]
    load_study("reminder-rct")
    # The zone the browser has: a participant without one adopts the browser's at consent, and
    # that re-plans the homework from the enrolment day, undoing the shift at some hours of the day.
    pid = enrol("reminder-rct", locale=lang, timezone="Europe/London")
    shift_past(pid, "open_at")
    start = link(app, pid)
    page = phone(browser, words["browser"])
    page.goto(server + start)
    consent_and_baseline(page, words["agree"])
    task_url = page.locator("#today a").first.get_attribute("href")
    page.goto(server + "/p/leave")
    check_page(page, f"{lang}-19-leave")
    page.goto(server + "/p/tasks/999999")  # not theirs: the plain error page
    check_page(page, f"{lang}-19-error")
    with app.app_context():
        session = db(app)
        participant = session.get(Participant, pid)
        withdraw(session, "user:1", session.get(Study, participant.study_id), participant, reason="moved away")
        session.commit()
    page.goto(server + task_url)
    assert words["left"] in page.locator("h1").inner_text()
    assert "reminder-study@example.org" in page.locator("#study-contact").inner_text()
    check_page(page, f"{lang}-20-withdrawn-task-link")
    page.goto(server + start)
    assert words["left"] in page.locator("h1").inner_text() and page.locator("main form").count() == 0
    check_page(page, f"{lang}-21-withdrawn-old-link")


def test_switcher_stores_the_language_of_an_api_enrolment(app, server, browser, load_study, enrol):
    """Enrolled by the API (study default, English) and reading in Spanish: one press switches."""
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    page = phone(browser, "es-ES")
    page.goto(server + link(app, pid))
    page.get_by_role("link", name="Ver esta página en español").click()
    assert page.locator("h1").inner_text() == "Bienvenida"
    check_page(page, "es-30-start-switched")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/p/consent")
    assert "Acepto participar" in page.locator("#consent-text").inner_text()
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/p/consent*")
    assert "I agree to take part" in page.locator("#consent-text").inner_text()
    check_page(page, "en-31-consent-switched")
    with app.app_context():
        assert db(app).get(Participant, pid).locale == "en"
    assert [a["after"] for a in audit_actions(app, pid) if a["action"] == "participant.locale"] == [
        {"locale": "es"}, {"locale": "en"}]


def test_ratings_without_javascript_are_number_boxes(app, server, browser, load_test_study, enrol, shift_past):
    load_test_study("framing-trial")
    pid = enrol("framing-trial", arm="plain", locale="en")
    shift_past(pid, "open_at")
    page = phone(browser, java_script_enabled=False)
    page.goto(server + link(app, pid))
    consent_and_baseline(page, WORDS["en"]["agree"])
    page.locator("#today a").first.click()
    box = page.get_by_label(WORDS["en"]["intensity"], exact=True)
    assert box.get_attribute("type") == "number" and box.get_attribute("max") == "100"
    shot(page, "en-40-task-no-js")


def test_the_accessibility_check_can_fail(browser):
    """The axe check is real: a field without a label is a critical violation."""
    from .conftest import axe_violations

    page = phone(browser)
    page.set_content('<html lang="en"><head><title>x</title></head><body><main><input type="text"></main></body></html>')
    assert "label" in {v["id"] for v in axe_violations(page)}
