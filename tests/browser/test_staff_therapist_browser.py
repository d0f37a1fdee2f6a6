"""Real Chromium: a therapist signs in, assigns tailored homework, the client (a second browser
context, signed in through an access link) reads the tailored intro and does it, the
therapist reviews it and looks at the client's trajectory.

Screenshots at 390 px (phone) and 1280 px (desktop) go to ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hwtrial.models import HomeworkInstance, HomeworkTailoring

from ..homework.conftest import db
from .conftest import CHROMIUM, shot
from .test_participant_browser import link

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

PASSWORD = "correct horse battery staple 42"
INTRO = "Think of Sunday's family dinner, when the talk turned to your job."
LABEL = "What happened at the dinner?"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def both_widths(page, name: str) -> None:
    """Screenshots of the current page at desktop and phone widths."""
    page.set_viewport_size(DESKTOP)
    shot(page, f"therapist-{name}-1280")
    page.set_viewport_size(PHONE)
    shot(page, f"therapist-{name}-390")
    page.set_viewport_size(DESKTOP)


def test_therapist_assigns_tailored_homework_the_client_does_it_and_it_is_reviewed(
        app, server, browser, load_study, make_user, enrol):  # noqa: F811
    load_study("reminder-rct")
    therapist, _ = make_user("therapist", email="dr.a@test.example", password=PASSWORD, display_name="Dr A")
    pid = enrol("reminder-rct", therapist_id=therapist, consent={"version": "2.1", "locale": "en"},
                locale="en", timezone="Europe/London")

    staff = browser.new_context(viewport=DESKTOP).new_page()
    staff.goto(server + "/login")
    staff.get_by_label("Email").fill("dr.a@test.example")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.wait_for_url(lambda url: "/staff/" in url)
    staff.goto(server + "/staff/caseload")
    assert "Caseload of Dr A" in staff.locator("h1").inner_text()
    both_widths(staff, "01-caseload")
    staff.get_by_role("link", name=f"Client {pid}", exact=True).click()
    staff.get_by_role("link", name="Assign homework").click()
    staff.get_by_label("Homework").select_option("thought_record")
    staff.get_by_role("button", name="Continue").click()
    staff.get_by_label("Introduction").fill(INTRO)
    staff.get_by_label("Prompt for “situation”").fill(LABEL)
    both_widths(staff, "02-assign")
    staff.get_by_role("button", name="Assign homework").click()
    assert staff.get_by_role("status").inner_text() == "Homework assigned."
    assert "yes (2 changes)" in staff.locator("table").inner_text()
    with app.app_context():
        tailoring = db(app).scalars(sa.select(HomeworkTailoring)).one()
        iid = tailoring.instance_id
        assert [c["key"] for c in tailoring.changes] == ["intro", "fields.situation.label"]

    # the client, on a phone, in a browser of their own
    client = browser.new_context(viewport=PHONE).new_page()
    client.goto(server + link(app, pid))
    client.get_by_role("button", name="Continue").click()
    client.wait_for_load_state()
    client.goto(f"{server}/p/tasks/{iid}")
    assert client.locator(".intro").inner_text() == INTRO
    shot(client, "therapist-03-client-task-390")
    client.get_by_label(LABEL, exact=True).fill("My uncle asked why I am still in the same job")
    client.get_by_label("Automatic thought", exact=True).fill("They all think I am a failure")
    client.get_by_label("Emotion", exact=True).fill("ashamed")
    client.get_by_label("How strong was the emotion? (0-100)", exact=True).fill("75")
    client.get_by_label("A more balanced thought", exact=True).fill("He was curious, not judging")
    client.get_by_label("How strong is the emotion now? (0-100)", exact=True).fill("35")
    client.get_by_role("button", name="Save thought record").click()
    client.wait_for_url("**/done")

    # the therapist reviews it
    staff.goto(f"{server}/staff/caseload/clients/{pid}")
    staff.get_by_role("link", name=f"thought record #{iid}").click()
    assert "He was curious, not judging" in staff.locator("main").inner_text()
    assert LABEL in staff.locator("main").inner_text()
    staff.get_by_label("Therapist-led (I reviewed it)").check()
    staff.get_by_label("Reflection").fill("Good catch of mind-reading; practise again next week.")
    staff.get_by_label("How useful was this homework? (0–10)").fill("8")
    staff.get_by_role("button", name="Save review").click()
    assert staff.get_by_role("status").inner_text() == "Review saved."
    assert "therapist-led" in staff.locator("main").inner_text()
    both_widths(staff, "04-review")
    with app.app_context():
        row = db(app).get(HomeworkInstance, iid)
        assert (row.state, row.therapist_review_led, row.therapist_reviewed_by) == ("submitted", "therapist", therapist)
        assert row.submission["situation"] == "My uncle asked why I am still in the same job"
    staff.goto(f"{server}/staff/caseload/clients/{pid}/trajectory")
    assert staff.locator("figure img").count() == 3
    both_widths(staff, "05-trajectory")
