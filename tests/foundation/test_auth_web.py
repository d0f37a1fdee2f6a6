"""Browser sign-in: server-side sessions that logout really ends; participant links exchanged
by POST for a session, then a token-free URL; tokens kept out of logs."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from hwtrial.auth.links import make_link_token
from hwtrial.models import Participant, Study, StudyVersion
from tests.conftest import STUDIES


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, email, password):
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})


@pytest.fixture
def participant_id(app, session):
    study = Study(key="s1", title="S", allocation_seed="1")
    study.versions.append(StudyVersion(version=1, definition={}, reason=""))
    session.add(study)
    session.flush()
    participant = Participant(study_id=study.id, external_id="p-1")
    session.add(participant)
    session.commit()
    return participant.id


def test_login_logout_ends_the_session_on_the_server(client, make_user):
    make_user("coordinator", email="coord@test.example", password="correct horse battery")
    answer = login(client, "coord@test.example", "correct horse battery")
    assert answer.status_code == 302
    cookie = client.get_cookie("hwtrial_session").value
    assert client.get("/staff/studies").status_code == 200
    home = client.get("/staff/studies").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(home)}).status_code == 302
    # Replaying the old cookie does not work: the session was revoked server-side (a staff
    # page then sends the visitor to sign in again).
    client.set_cookie("hwtrial_session", cookie)
    assert client.get("/staff/studies").headers["Location"] == "/login?next=/staff/studies"


def test_wrong_password_and_missing_csrf(client, make_user):
    make_user("coordinator", email="c2@test.example", password="correct horse battery")
    assert login(client, "c2@test.example", "wrong").status_code == 401
    assert client.post("/login", data={"email": "c2@test.example",
                                       "password": "correct horse battery"}).status_code == 400


def test_participant_link_exchange(app, client, participant_id):
    token = make_link_token(app.config["HWTRIAL_SECRET_KEY"], participant_id, 0)
    page = client.get(f"/p/start?token={token}")
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert client.get_cookie("hwtrial_session") is None  # GET alone signs nobody in
    answer = client.post("/p/start", data={"token": token, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert answer.status_code == 302
    assert "token" not in answer.headers["Location"]
    assert client.get(answer.headers["Location"]).status_code == 200


def test_forged_expired_and_revoked_links_are_refused(app, client, session, participant_id, monkeypatch):
    secret = app.config["HWTRIAL_SECRET_KEY"]

    def exchange(token):
        page = client.get(f"/p/start?token={token}")
        return client.post("/p/start", data={"token": token, "csrf_token": csrf_from(page.get_data(as_text=True))})

    assert exchange(make_link_token("another-key", participant_id, 0)).status_code == 403
    import time

    from itsdangerous import TimestampSigner

    with monkeypatch.context() as patch:  # a link issued 181 days ago (links last 180)
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 181 * 86400)
        old = make_link_token(secret, participant_id, 0)
    assert exchange(old).status_code == 403
    session.get(Participant, participant_id).link_generation = 1  # revoke issued links
    session.commit()
    assert exchange(make_link_token(secret, participant_id, 0)).status_code == 403
    assert exchange(make_link_token(secret, participant_id, 1)).status_code == 302


def test_tokens_never_reach_the_logs(app, caplog):
    from hwtrial.redaction import redact

    token = make_link_token(app.config["HWTRIAL_SECRET_KEY"], 1, 0)
    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('%s - - "%s" %s', "127.0.0.1", f"GET /p/start?token={token} HTTP/1.1", 200)
        logger.info("Authorization: Bearer hwt_abcdefghijklmnopqrstuvwxyz0123")
    assert token not in caplog.text and "hwt_abcdefghijklmnopqrstuvwxyz0123" not in caplog.text
    assert "token=[redacted]" in caplog.text
    assert redact("/p/start?token=abc&x=1") == "/p/start?token=[redacted]&x=1"


def test_session_expiry(app, client, make_user, session):
    from hwtrial.models import WebSession, utcnow

    make_user("therapist", email="t@test.example", password="correct horse battery")
    login(client, "t@test.example", "correct horse battery")
    for row in session.query(WebSession).all():
        row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.get("/staff/studies").headers["Location"] == "/login?next=/staff/studies"


def test_staff_cookie_api_writes_need_the_csrf_header(client, make_user):
    """Regression: a same-site form POST acted through the API with a staff session cookie."""
    make_user("coordinator", email="c3@test.example", password="correct horse battery")
    assert login(client, "c3@test.example", "correct horse battery").status_code == 302
    body = {"yaml": (STUDIES / "reminder-rct.yaml").read_text()}
    forged = client.post("/api/v1/studies/", json=body)
    assert forged.status_code == 403 and forged.get_json()["errors"] == {"X-CSRF-Token": ["missing or invalid"]}
    assert client.get("/api/v1/studies/").status_code == 200  # reads need no header
    token = csrf_from(client.get("/staff/studies").get_data(as_text=True))
    assert client.post("/api/v1/studies/", json=body, headers={"X-CSRF-Token": token}).status_code == 201
