"""The participant pages' context: read by the session look-up, or by its own query; same answer."""

from __future__ import annotations

from hwtrial.models import Participant
from hwtrial.services import participant_flow as flow

from .conftest import csrf, db


def _context(app, pid):
    with app.app_context():
        session = db(app)
        participant = session.get(Participant, pid)
        page = flow.page_context(session, participant)
        return page.study.key, page.consented, page.arm_key


def test_own_query_reads_consent_and_arm(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct", arm="reminders")
    client = sign_in(pid)
    assert _context(app, pid) == ("reminder-rct", False, "reminders")
    client.post("/p/consent", data={"csrf_token": csrf(client, "/p/consent"), "agree": "yes"})
    assert _context(app, pid) == ("reminder-rct", True, "reminders")


def test_pages_use_the_session_row_of_the_signed_in_participant(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    client = sign_in(pid)
    assert client.get("/p/").headers["Location"].endswith("/p/consent")
    client.post("/p/consent", data={"csrf_token": csrf(client, "/p/consent"), "agree": "yes"})
    # Consent read by the cookie's query on the next request: no longer sent to /p/consent.
    assert client.get("/p/consent").headers["Location"].endswith("/p/")
