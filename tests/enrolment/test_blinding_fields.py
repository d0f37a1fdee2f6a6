"""What each role receives about a participant, and re-issuing a sign-in link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from hwtrial.auth.links import LinkError
from hwtrial.models import AuditEntry, HomeworkInstance, Study, utcnow
from hwtrial.services import sessions

from .helpers import enrol

BASE = "/api/v1/studies/reminder-rct"


@pytest.fixture
def people(client, load_study, make_user, bearer):
    """An enrolled participant (as the enrolment answered) and a token per kind of caller."""
    load_study("reminder-rct")
    therapist_id, therapist = make_user("therapist")
    callers = {"coordinator": bearer(make_user("coordinator")[1]),
               "statistician": bearer(make_user("statistician")[1]),
               "unblinded_statistician": bearer(make_user("statistician", may_unblind=True)[1]),
               "therapist": bearer(therapist)}
    enrolled = rct(client, callers["coordinator"], external_id="host-1", therapist_id=therapist_id)
    assert enrolled.status_code == 201
    return enrolled.json, callers


def rct(client, headers, external_id, **extra):
    return enrol(client, headers, "reminder-rct", external_id, {"site": "north", "severity": "mild"}, **extra)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_only_the_enrolment_answer_carries_the_link(client, people):
    enrolled, callers = people
    assert "/p/start?token=" in enrolled["link"]
    replay = rct(client, callers["coordinator"], external_id="host-1")
    assert replay.status_code == 200 and replay.json["link"] == enrolled["link"]
    for caller in callers.values():
        listed = client.get(f"{BASE}/participants", headers=caller).json
        item = client.get(f"{BASE}/participants/{enrolled['id']}", headers=caller).json
        assert "link" not in item and all("link" not in p for p in listed)
    withdrawn = client.post(f"{BASE}/participants/{enrolled['id']}/withdraw", json={"reason": "moved"},
                            headers=callers["coordinator"]).json
    assert "link" not in withdrawn


@pytest.mark.parametrize(("caller", "features", "external_id"), [
    ("coordinator", True, True),
    ("unblinded_statistician", True, False),
    ("statistician", False, False),
    ("therapist", False, False),
])
def test_features_for_who_sees_arms_external_ids_for_who_enrols(client, people, caller, features, external_id):
    enrolled, callers = people
    item = client.get(f"{BASE}/participants/{enrolled['id']}", headers=callers[caller]).json
    assert ("features" in item) is features and ("external_id" in item) is external_id
    assert item["arm"] == (enrolled["arm"] if features else enrolled["arm_code"])
    if features:
        assert item["features"] == enrolled["features"]
    if external_id:
        assert item["external_id"] == "host-1"


def test_study_level_unblinding_shows_features_but_not_external_ids(client, people, session):
    enrolled, callers = people
    session.scalar(sa.select(Study)).unblinded_at = utcnow()
    session.commit()
    item = client.get(f"{BASE}/participants/{enrolled['id']}", headers=callers["statistician"]).json
    assert item["features"] == enrolled["features"] and "external_id" not in item


def test_a_new_link_revokes_the_old_links_and_sessions(app, client, people, session):
    enrolled, callers = people
    url = f"{BASE}/participants/{enrolled['id']}/link"
    for caller in ("statistician", "therapist"):
        assert client.post(url, json={}, headers=callers[caller]).status_code == 403
    assert client.post(f"{BASE}/participants/999999/link", json={},
                       headers=callers["coordinator"]).status_code == 404
    secret_key, life = app.config["HWTRIAL_SECRET_KEY"], timedelta(days=180)
    _, old_session = sessions.exchange_link(session, secret_key, token_of(enrolled["link"]), life, life)
    session.commit()
    client.set_cookie("hwtrial_session", old_session)
    assert client.get("/p/").status_code != 401  # signed in with the original link
    client.delete_cookie("hwtrial_session")

    answer = client.post(url, json={"reason": "link forwarded by mistake"}, headers=callers["coordinator"])
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["participant_id"] == enrolled["id"] and body["link_generation"] == 1
    assert body["link"] != enrolled["link"] and "/p/start?token=" in body["link"]
    with pytest.raises(LinkError, match="revoked"):
        sessions.exchange_link(session, secret_key, token_of(enrolled["link"]), life, life)
    client.set_cookie("hwtrial_session", old_session)
    assert client.get("/p/").status_code == 401  # the session opened with the old link ended
    client.delete_cookie("hwtrial_session")
    participant, _ = sessions.exchange_link(session, secret_key, token_of(body["link"]), life, life)
    assert participant.id == enrolled["id"]
    [entry] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "participant.link_reissue")).all()
    assert '"link forwarded by mistake"' in entry.payload and '"sessions_closed":1' in entry.payload
    # The enrolment replay still answers with a working link (the new generation).
    replay = rct(client, callers["coordinator"], external_id="host-1")
    assert replay.status_code == 200 and sessions.exchange_link(
        session, secret_key, token_of(replay.json["link"]), life, life)[0].id == enrolled["id"]


def test_a_withdrawn_participant_gets_no_new_link(client, people):
    # Withdrawal ends access; a reissued link would be one that cannot work (or, were the
    # status check ever lost at sign-in, one that would): 409, nothing issued.
    enrolled, callers = people
    base = f"{BASE}/participants/{enrolled['id']}"
    assert client.post(f"{base}/withdraw", json={"reason": "asked"}, headers=callers["coordinator"]).status_code == 200
    answer = client.post(f"{base}/link", json={"reason": "lost"}, headers=callers["coordinator"])
    assert answer.status_code == 409 and answer.json["errors"] == {"participant": ["withdrawn"]}
    assert "link" not in answer.json
    assert client.post(f"{base}/link", json={}, headers=callers["statistician"]).status_code == 403


def _client_self_review(session, participant_id):
    row = session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == participant_id)
                          .order_by(HomeworkInstance.scheduled_at)).first()
    now = utcnow()
    row.state, row.submitted_at, row.submission = "submitted", now, {}
    row.self_review, row.reviewer_role, row.reviewed_at = {"usefulness": 8, "reflection": "helped"}, "client", now
    row.set_metrics({"active_seconds": 30.0, "edits": 1, "words": 5, "effort": None, "self_review_words": 1,
                     "usefulness_rated": True, "self_review_depth": 2})
    session.commit()
    return row.id


def test_a_blinded_therapist_does_not_see_the_clients_own_self_review(client, people, session):
    enrolled, callers = people
    instance_id = _client_self_review(session, enrolled["id"])

    def seen(caller):
        rows = client.get(f"{BASE}/participants/{enrolled['id']}/homework", headers=callers[caller]).json
        return next(r for r in rows if r["id"] == instance_id)

    blinded = seen("therapist")
    assert blinded["self_review"] is None and blinded["reviewer_role"] is None and blinded["reviewed_at"] is None
    assert blinded["metrics"]["self_review_depth"] == 0 and blinded["metrics"]["usefulness_rated"] is False
    assert blinded["metrics"]["active_seconds"] == 30.0 and blinded["state"] == "submitted"
    listed = client.get(f"{BASE}/homework", headers=callers["therapist"]).json
    assert next(r for r in listed if r["id"] == instance_id) == blinded
    coordinator = seen("coordinator")
    assert coordinator["reviewer_role"] == "client" and coordinator["self_review"]["usefulness"] == 8
    # The therapist's own review is shown: a therapist may review in any arm.
    review = client.post(f"{BASE}/homework/{instance_id}/review", headers=callers["therapist"],
                         json={"reviewer_role": "therapist", "answers": {"usefulness": 4}})
    assert review.status_code == 200 and review.json["therapist_review_led"] == "therapist"
    assert seen("therapist")["therapist_review"]["usefulness"] == 4
    # ... and the client's self-review is still there, still hidden from the blinded therapist
    assert seen("therapist")["self_review"] is None and seen("therapist")["reviewer_role"] is None
    assert seen("coordinator")["self_review"]["usefulness"] == 8
    assert seen("coordinator")["therapist_review"]["usefulness"] == 4
