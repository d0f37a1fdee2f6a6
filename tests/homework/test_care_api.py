"""Therapists' homework API (own clients only) and coordinators' safety alerts."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hwtrial.models import AuditEntry, OutboxMessage, SafetyAlert, utcnow
from hwtrial.services import questionnaires

from .conftest import csrf, db

BASE = "/api/v1/studies/reminder-rct"


FRAMING_CONSENT = "1"


def submit_as_client(browser, iid: int) -> None:
    """The client consents and submits thought record ``iid`` on the participant pages."""
    browser.post("/p/consent", data={"csrf_token": csrf(browser, "/p/consent"), "agree": "yes"})
    form = {"situation": "a", "automatic_thought": "b", "emotion": "c", "intensity": "5",
            "balanced_thought": "d", "rerated_intensity": "3", "action": "submit"}
    assert browser.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(browser, f"/p/tasks/{iid}"), **form}
                        ).status_code == 302


def test_therapist_assigns_and_reviews_own_clients_only(app, client, load_study, make_user, bearer, enrol,
                                                        sign_in):
    load_study("reminder-rct")
    mine_id, mine = make_user("therapist")
    _, other = make_user("therapist")
    pid = enrol("reminder-rct", therapist_id=mine_id)
    due = (utcnow() + timedelta(days=2)).isoformat()
    answer = client.post(f"{BASE}/participants/{pid}/homework", json={"template": "thought_record", "due_at": due},
                         headers=bearer(mine))
    assert answer.status_code == 201 and answer.json["origin"] == "adhoc"
    iid = answer.json["id"]
    assert client.post(f"{BASE}/participants/{pid}/homework", json={"template": "thought_record", "due_at": due},
                       headers=bearer(other)).status_code == 404
    assert client.post(f"{BASE}/participants/{pid}/homework", json={"template": "nope", "due_at": due},
                       headers=bearer(mine)).status_code == 422
    assert client.post(f"{BASE}/participants/{pid}/homework", json={}, headers=bearer(mine)).json["errors"] == {
        "template": ["required"], "due_at": ["required"]}
    assert [h["id"] for h in client.get(f"{BASE}/homework", headers=bearer(other)).json] == []
    assert iid in [h["id"] for h in client.get(f"{BASE}/homework", headers=bearer(mine)).json]
    # the client does it on the participant pages (open at once)
    submit_as_client(sign_in(pid), iid)
    review = {"reviewer_role": "therapist", "answers": {"usefulness": 8, "reflection": "good catch"}}
    assert client.post(f"{BASE}/homework/{iid}/review", json=review, headers=bearer(other)).status_code == 404
    assert client.post(f"{BASE}/homework/{iid}/review", json={**review, "reviewer_role": "x"},
                       headers=bearer(mine)).status_code == 422
    done = client.post(f"{BASE}/homework/{iid}/review", json=review, headers=bearer(mine))
    assert done.status_code == 200 and done.json["therapist_review_led"] == "therapist"
    assert done.json["therapist_review"] == review["answers"] and done.json["therapist_reviewed_at"]
    # kept apart from the client's own self-review, which it neither fills nor scores
    assert done.json["reviewer_role"] is None and done.json["self_review"] is None
    assert done.json["metrics"]["self_review_depth"] == 0
    with app.app_context():
        actions = set(db(app).scalars(sa.select(AuditEntry.action)))
    assert {"homework.assign", "homework.submit", "homework.review"} <= actions


def test_phq9_item_9_raises_an_alert_and_queues_one_email(app, client, load_study, make_user, bearer, enrol,
                                                        sign_in):
    load_study("reminder-rct")
    _, coordinator = make_user("coordinator")
    _, therapist = make_user("therapist")
    pid = enrol("reminder-rct")
    browser = sign_in(pid)
    browser.post("/p/consent", data={"csrf_token": csrf(browser, "/p/consent"), "agree": "yes"})
    url = "/p/questionnaires/baseline/phq9"
    answers = {f"phq9_{i}": "1" for i in range(1, 10)}
    bad = browser.post(url, data={"csrf_token": csrf(browser, url), **answers, "phq9_3": "7"})
    assert bad.status_code == 422 and 'href="#f-phq9_3"' in bad.get_data(as_text=True)
    assert browser.post(url, data={"csrf_token": csrf(browser, url), **answers, "phq9_9": "2"}).status_code == 302
    alerts = client.get(f"{BASE}/safety-alerts", headers=bearer(coordinator))
    assert alerts.status_code == 200 and [a["reason"] for a in alerts.json] == ["phq9_9 = 2"]
    assert client.get(f"{BASE}/safety-alerts", headers=bearer(therapist)).status_code == 403
    alert_id = alerts.json[0]["id"]
    ack = client.post(f"{BASE}/safety-alerts/{alert_id}/acknowledge", json={"note": "called"},
                      headers=bearer(coordinator))
    assert ack.status_code == 200 and ack.json["acknowledged_at"]
    assert client.get(f"{BASE}/safety-alerts?open_only=true", headers=bearer(coordinator)).json == []
    with app.app_context():
        outbox = db(app).scalars(sa.select(OutboxMessage)).all()
        assert [(m.channel, m.payload["kind"], m.payload["alert_id"]) for m in outbox] == [
            ("email", "safety_alert", alert_id)]
    assert browser.post(url, data={"csrf_token": csrf(browser, url), **answers}).status_code == 409


def test_band_cut_offs_come_from_the_study(app, load_test_study, enrol):
    load_test_study("framing-trial")
    pid = enrol("framing-trial", consent={"version": FRAMING_CONSENT, "locale": "en"})
    with app.app_context():
        from hwtrial.models import Participant, Study

        session = db(app)
        study = session.scalar(sa.select(Study).where(Study.key == "framing-trial"))
        participant = session.get(Participant, pid)
        answers = {f"phq9_{i}": "1" for i in range(1, 10)} | {"phq9_9": "0"}
        response = questionnaires.submit(session, participant, study, "baseline", "phq9", answers, utcnow())
        # 8 points: "mild" under the builtin bands, "low" under this study's own cut-offs
        assert (response.total, response.band, response.in_window) == (8, "low", True)
        assert session.scalar(sa.select(sa.func.count()).select_from(SafetyAlert)) == 0


def test_therapist_review_scale_is_the_same_in_every_arm(app, client, tmp_path, make_user, bearer, enrol,
                                                         sign_in):
    # The client's self-review scale is an arm feature; the therapist's rating must not follow
    # it, or a value refused in one arm and taken in the other tells a blinded therapist the arm.
    from hwtrial.services.loading import load_study_from_file

    from .conftest import HERE

    text = (HERE / "studies" / "framing-trial.yaml").read_text()
    marker = '          es: "¿Qué aprendió con este registro?"\n'
    path = tmp_path / "framing-trial.yaml"
    path.write_text(text.replace(marker, marker + "        usefulness_scale: {min: 1, max: 5}\n"))
    with app.app_context():
        load_study_from_file(db(app), "test", str(path), activate=True)
        db(app).commit()
    therapist_id, therapist = make_user("therapist")
    due = (utcnow() + timedelta(days=2)).isoformat()
    answers = []
    for arm in ("plain", "community"):
        pid = enrol("framing-trial", arm=arm, therapist_id=therapist_id)
        iid = client.post(f"/api/v1/studies/framing-trial/participants/{pid}/homework",
                          json={"template": "thought_record", "due_at": due}, headers=bearer(therapist)).json["id"]
        submit_as_client(sign_in(pid), iid)
        answers.append([client.post(f"/api/v1/studies/framing-trial/homework/{iid}/review",
                                    json={"reviewer_role": "therapist", "answers": {"usefulness": value}},
                                    headers=bearer(therapist)).status_code for value in (0, 8, 11)])
    assert answers == [[200, 200, 422], [200, 200, 422]]


def test_study_homework_list_is_paged(app, client, load_study, make_user, bearer, enrol):
    # Unpaged, a coordinator's list of a large study was hundreds of thousands of rows in one answer.
    import json

    load_study("reminder-rct")
    coordinator = bearer(make_user("coordinator")[1])
    for _ in range(3):
        enrol("reminder-rct")
    everything = client.get(f"{BASE}/homework", query_string={"page_size": 1000}, headers=coordinator)
    total = json.loads(everything.headers["X-Pagination"])["total"]
    assert total == len(everything.json) > 4
    first = client.get(f"{BASE}/homework", query_string={"page_size": 2}, headers=coordinator)
    second = client.get(f"{BASE}/homework", query_string={"page_size": 2, "page": 2}, headers=coordinator)
    assert [h["id"] for h in first.json + second.json] == [h["id"] for h in everything.json[:4]]
    assert len(client.get(f"{BASE}/homework", headers=coordinator).json) == min(total, 100)
    assert client.get(f"{BASE}/homework", query_string={"page": 10**12}, headers=coordinator).json == []
    assert client.get(f"{BASE}/homework", query_string={"page_size": 1001}, headers=coordinator).status_code == 422
