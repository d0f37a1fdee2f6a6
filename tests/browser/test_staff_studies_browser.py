"""Real Chromium: a coordinator signs in (a wrong password first: the form again, with the
error), uploads a study file with a mistake and sees the problem with its line, fixes it,
saves and activates it, and reads the study page with its plots, at 390 and 1280 px.

Screenshots go to ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import pytest

from tests.conftest import STUDIES

from .conftest import ARTIFACTS, CHROMIUM

PASSWORD = "correct horse battery staple"
GOOD = (STUDIES / "reminder-rct.yaml").read_text().replace("key: reminder-rct", "key: browser-rct")
BAD = GOOD.replace("block_sizes: [2, 4]", "block_sizes: [2, four]")
BAD_LINE = BAD.splitlines().index("  block_sizes: [2, four]") + 1

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]






def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def figures_loaded(page) -> list[dict]:
    return page.eval_on_selector_all(
        "figure img", "imgs => imgs.map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt}))")


def test_coordinator_uploads_fixes_activates_and_reads_the_study_page(app, server, browser, make_user, enrol):
    make_user("coordinator", email="coord@browser.example", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    # Console errors other than the statuses the flow expects (401, 422, the favicon's 404):
    # a CSP refusal ("Refused to load ...") would land here.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)

    page.goto(server + "/staff/studies")
    page.wait_for_url(lambda url: "/login?next=/staff/studies" in url)
    page.get_by_label("Email").fill("coord@browser.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    assert page.get_by_label("Email").input_value() == "coord@browser.example"
    shot(page, "staff-login-wrong-password-1280")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/studies")
    assert page.get_by_role("heading", level=1).inner_text() == "Studies"

    page.get_by_role("link", name="New study from a study file").click()
    page.get_by_label("or paste / edit it here").fill(BAD)
    page.get_by_role("button", name="Save as draft").click()
    problems = page.locator(".problem-list li")
    assert problems.count() == 1
    assert problems.first.inner_text() == f"line {BAD_LINE}: allocation.block_sizes[1]: Not a valid integer."
    shot(page, "staff-study-file-problem-1280")

    page.get_by_label("or paste / edit it here").fill(GOOD)
    page.get_by_role("button", name="Check").click()
    assert "No problems found: browser-rct" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(lambda url: url.endswith("/staff/studies/browser-rct/file?saved=1"))
    page.get_by_role("button", name="Activate the study").click()
    page.wait_for_url("**/staff/studies/browser-rct")

    for arm, site in (("control", "north"), ("reminders", "south"), ("reminders", "online")):
        enrol("browser-rct", arm=arm, strata={"site": site, "severity": "mild"})
    page.reload()
    assert page.get_by_role("heading", level=1).inner_text() == "Homework reminders in CBT for depression"
    assert "3 enrolled" in page.locator("main").inner_text()
    images = figures_loaded(page)
    assert len(images) == 3 and all(i["ok"] for i in images), images
    assert all(i["alt"].strip() for i in images)
    assert images[0]["alt"].startswith("Enrolment over time.")
    shot(page, "staff-study-page-1280")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    small = phone.new_page()
    small.goto(server + "/staff/studies/browser-rct")
    images = figures_loaded(small)
    assert len(images) == 3 and all(i["ok"] for i in images)
    # Nothing wider than the phone: the page scrolls vertically only (tables scroll in their box).
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "staff-study-page-390")
    small.goto(server + "/staff/study-files/new")
    shot(small, "staff-study-file-new-390")
    small.goto(server + "/staff/studies")
    shot(small, "staff-study-list-390")
    phone.close()
    context.close()
    assert errors == []
