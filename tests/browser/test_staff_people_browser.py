"""Real Chromium: a coordinator enrols a participant and hands over the link (QR code), the
participant opens it in a second browser context, the coordinator withdraws them; an admin
creates a user and issues a token. Screenshots at 390 px and 1280 px go to ``tests/artifacts/``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hwtrial.models import Participant

from ..homework.conftest import db
from .conftest import ARTIFACTS, CHROMIUM

WIDTHS = (390, 1280)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]






def shots(page, name: str) -> None:
    """Full-page screenshots at phone and desktop width; the page is left at desktop width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"staff-people-{name}-{width}.png"), full_page=True)


def sign_in(browser, base: str, email: str, password: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    return page


def test_coordinator_enrols_hands_over_link_and_withdraws(app, server, browser, load_study, make_user):
    key = load_study("reminder-rct")
    make_user("coordinator", email="coord@example.org", password="coordinator-pass-1")
    page = sign_in(browser, server, "coord@example.org", "coordinator-pass-1")
    page.goto(f"{server}/staff/studies/{key}/participants")
    assert "No participants yet" in page.content()
    page.get_by_role("link", name="Enrol a participant").click()
    page.get_by_label("External id").fill("clinic-0042")
    page.get_by_label("Site").select_option("south")
    page.get_by_label("Severity").select_option("moderate")
    page.get_by_label("Time zone").fill("Europe/Madrid")
    page.get_by_label("Email for reminders").fill("client42@example.org")
    shots(page, "01-enrol-form")
    page.get_by_role("button", name="Enrol and randomise").click()
    page.wait_for_selector("figure.qr img")
    assert "Shown once" in page.content()
    qr_width = page.evaluate("document.querySelector('figure.qr img').naturalWidth")
    assert qr_width > 0  # the SVG data URI decoded (the CSP allows data: images)
    link = page.get_by_label("Access link").input_value()
    assert link.startswith(server + "/p/start?token=")
    shots(page, "02-link-qr")

    # the participant, on their own device
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(link)
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url("**/p/consent")
    phone.locator("input[type=checkbox]").first.check()
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url("**/p/questionnaires/**")
    assert "/p/" in phone.url

    # the coordinator withdraws them
    page.get_by_role("link", name="Go to the participant's page").click()
    page.wait_for_selector("h1")
    assert "clinic-0042" in page.content() and "Consent" in page.content()
    page.get_by_label("Reason (required, audited)").first.fill("moved abroad")
    page.get_by_role("button", name="Withdraw participant").click()
    page.wait_for_selector(".withdrawn-banner")
    assert "The participant was withdrawn." in page.content()
    shots(page, "03-withdrawn")
    with app.app_context():
        participant = db(app).scalar(sa.select(Participant).where(Participant.external_id == "clinic-0042"))
        assert participant.status == "withdrawn" and participant.strata == {"site": "south", "severity": "moderate"}

    # the participant's pages now say they left (issue 13's farewell page), on the session and the old link
    phone.reload()
    assert "You have left the study" in phone.content() and "study-contact" in phone.content()
    assert phone.locator("main form").count() == 0  # nothing left to answer
    phone.goto(link)
    assert "You have left the study" in phone.content()
    phone.screenshot(path=str(ARTIFACTS / "staff-people-04-participant-after-withdrawal-390.png"), full_page=True)

    page.goto(f"{server}/staff/studies/{key}/participants")
    assert "status-withdrawn" in page.content() and "clinic-0042" in page.content()
    shots(page, "05-list")


def test_admin_creates_user_and_token(app, server, browser, load_study, make_user):
    key = load_study("reminder-rct")
    make_user("admin", email="admin@example.org", password="administrator-1")
    page = sign_in(browser, server, "admin@example.org", "administrator-1")
    page.goto(f"{server}/staff/users")  # where sign-in lands is the sign-in page's business
    assert page.get_by_role("navigation", name="Staff").get_by_role("link", name="Users").count() == 1
    page.get_by_label("Email (sign-in name)").fill("stats@example.org")
    page.get_by_label("Name (optional)").fill("Sam Statistician")
    page.get_by_label("Role").select_option("statistician")
    shots(page, "06-users")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_selector("#secret")
    password = page.locator("#secret").input_value()
    assert len(password) >= 12
    page.get_by_role("link", name="Go to stats@example.org").click()
    # limit the account to the study (its sessions and tokens then reach only that one)
    scopes = page.get_by_role("region", name="Studies this account may touch")
    scopes.get_by_label(key).check()
    scopes.get_by_role("button", name="Save studies").click()
    assert "The account's studies were saved" in page.get_by_role("status").inner_text()
    assert page.locator("#user-scope").inner_text() == key
    page.get_by_label("Label").fill("analysis laptop")
    page.get_by_role("region", name="API tokens").get_by_label(key).check()
    page.get_by_role("button", name="Issue token").click()
    page.wait_for_selector("#secret")
    token = page.locator("#secret").input_value()
    assert token.startswith("hwt")
    shots(page, "07-token")
    answer = page.request.get(f"{server}/api/v1/studies/{key}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200
    listed = page.request.get(f"{server}/api/v1/studies/", headers={"Authorization": f"Bearer {token}"})
    assert [s["key"] for s in listed.json()] == [key]
    # the new user signs in with the temporary password
    other = sign_in(browser, server, "stats@example.org", password)
    assert "/staff" in other.url
