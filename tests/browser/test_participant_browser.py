"""Real Chromium against a real server: link → consent → baseline → thought record (framed) →
reload restores the autosaved draft → submit → self-review → done; and the Spanish pages.

Screenshots go to ``tests/artifacts/`` (gitignored; see conftest.py).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from hwtrial.models import Event, HomeworkInstance, Participant
from hwtrial.services.sessions import participant_link_token

from ..homework.conftest import db
from .conftest import CHROMIUM, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


def link(app, pid: int) -> str:
    with app.app_context():
        token = participant_link_token(app.config["HWTRIAL_SECRET_KEY"], db(app).get(Participant, pid))
    return f"/p/start?token={token}"


def sign_in_and_consent(page, base: str, start: str, agree_label: str) -> None:
    page.goto(base + start)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/p/consent")
    page.get_by_label(agree_label).check()
    page.locator("main form button[type=submit]").click()


def answer_questionnaire(page) -> None:
    page.wait_for_url("**/p/questionnaires/**")
    for fieldset in page.locator("fieldset").all():
        fieldset.locator("input[type=radio]").first.check()
    page.locator("main form button[type=submit]").click()


def test_thought_record_journey(app, server, browser, load_test_study, enrol, shift_past):
    load_test_study("framing-trial")
    pid = enrol("framing-trial", arm="community", locale="en")
    shift_past(pid, "open_at")
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    sign_in_and_consent(page, server, link(app, pid), "I have read this and I agree to take part.")
    answer_questionnaire(page)
    page.wait_for_url("**/p/")
    shot(page, "01-home")
    page.locator("main ul a").first.click()
    page.wait_for_url("**/p/tasks/*")
    assert "Many people working on their mood" in page.locator(".intro").inner_text()
    with page.expect_response(lambda r: r.url.endswith("/draft") and r.ok):
        page.get_by_label("Situation", exact=True).fill("Meeting at work, my manager frowned")
        page.get_by_label("Automatic thought", exact=True).fill("She thinks I am useless")
    shot(page, "02-task-draft")
    page.reload()
    assert page.get_by_label("Situation", exact=True).input_value() == "Meeting at work, my manager frowned"
    page.get_by_label("Emotion", exact=True).fill("anxious")
    page.get_by_label("How strong was the emotion? (0-100)", exact=True).fill("80")
    page.get_by_label("A more balanced thought", exact=True).fill("One frown is not a verdict on my work")
    page.get_by_label("How strong is the emotion now? (0-100)", exact=True).fill("40")
    page.get_by_role("button", name="Save thought record").click()
    page.wait_for_url("**/review")
    shot(page, "03-self-review")
    assert "What did you learn from this record?" in page.content()
    page.get_by_label("What did you learn?", exact=True).fill("Checking the evidence takes the sting out of it.")
    page.get_by_label("How useful was this task? (0 = not at all, 10 = very)").fill("7")
    page.get_by_role("button", name="Save my answers").click()
    page.wait_for_url("**/done")
    shot(page, "04-done")
    with app.app_context():
        row = db(app).scalars(sa.select(HomeworkInstance).where(
            HomeworkInstance.participant_id == pid, HomeworkInstance.state == "submitted")).one()
        assert row.self_review["usefulness"] == 7 and row.reviewer_role == "client"
    # participant.js sent its queued events (the "submitted" one from the page that navigated away)
    deadline = time.monotonic() + 15
    kinds: set[str] = set()
    while time.monotonic() < deadline and not {"opened", "field_changed", "draft_saved", "submitted"} <= kinds:
        time.sleep(0.3)
        with app.app_context():
            kinds = set(db(app).scalars(sa.select(Event.type).where(Event.participant_id == pid)))
    assert {"opened", "field_changed", "draft_saved", "submitted"} <= kinds
    assert page.evaluate("JSON.parse(localStorage.getItem('hwtrial.events.v1') || '[]').length") == 0


def test_spanish_pages_render(app, server, browser, load_test_study, enrol, shift_past):
    load_test_study("framing-trial")
    pid = enrol("framing-trial", arm="plain", locale="es")
    shift_past(pid, "open_at")
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="es-ES")
    sign_in_and_consent(page, server, link(app, pid), "He leído esto y acepto participar.")
    answer_questionnaire(page)
    page.wait_for_url("**/p/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Thought-record framing (test study)" in page.locator("h1").inner_text()
    assert "Por hacer ahora" in page.locator("main").inner_text()
    page.locator("main ul a").first.click()
    page.get_by_role("button", name="Guardar registro").click()  # empty: every required field named
    assert "Algunas respuestas necesitan atención" in page.content()
    assert page.locator("#error-summary li").count() == 6
    shot(page, "05-es-task-errors")
