"""Coordinators list a study's deliveries by state and requeue a dead one; blinded staff
cannot (reminder rows tell who is in a reminder arm)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hwtrial.models import AuditEntry, OutboxMessage, Study, utcnow
from hwtrial.reminders.worker import run_pass
from tests.homework.conftest import db

BASE = "/api/v1/studies/reminder-rct/reminders"


def test_dead_letters_are_listed_and_requeued(app, client, load_study, make_user, bearer, smtp_server):
    mailbox, port = smtp_server
    load_study("reminder-rct")
    _, coordinator = make_user("coordinator", email="lead@clinic.example")
    _, statistician = make_user("statistician")
    with app.app_context():
        study = db(app).scalar(sa.select(Study))
        db(app).add(OutboxMessage(dedupe_key="alert-1", channel="email", due_at=utcnow(), study_id=study.id,
                                  payload={"kind": "safety_alert", "to_role": "coordinator", "study_key": study.key,
                                           "participant_id": 0, "alert_id": 1, "reason": "phq9_9 = 3"}))
        db(app).commit()
    app.config.update(HWTRIAL_SMTP_HOST="127.0.0.1", HWTRIAL_SMTP_PORT=port, HWTRIAL_OUTBOX_MAX_ATTEMPTS=1)
    mailbox.refuse = True
    assert run_pass(app).dispatch.dead == 1
    dead = client.get(f"{BASE}?status=dead", headers=bearer(coordinator))
    assert dead.status_code == 200 and [(m["kind"], m["attempts"]) for m in dead.json] == [("safety_alert", 1)]
    assert "550" in dead.json[0]["last_error"]
    assert client.get(f"{BASE}?status=sent", headers=bearer(coordinator)).json == []
    assert client.get(f"{BASE}?status=nonsense", headers=bearer(coordinator)).status_code == 422
    assert client.get(BASE, headers=bearer(statistician)).status_code == 403
    message_id = dead.json[0]["id"]
    assert client.post(f"{BASE}/{message_id}/requeue", headers=bearer(statistician)).status_code == 403
    assert client.post(f"{BASE}/999999/requeue", headers=bearer(coordinator)).status_code == 404
    again = client.post(f"{BASE}/{message_id}/requeue", headers=bearer(coordinator))
    assert again.status_code == 200 and (again.json["status"], again.json["attempts"]) == ("pending", 0)
    mailbox.refuse = False
    assert run_pass(app, utcnow() + timedelta(seconds=1)).dispatch.sent == 1 and len(mailbox.messages) == 1
    assert client.post(f"{BASE}/{message_id}/requeue", headers=bearer(coordinator)).status_code == 409
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).where(AuditEntry.action == "outbox.requeue")) == 1
    sent = client.get(f"{BASE}?status=sent", headers=bearer(coordinator)).json
    assert [m["id"] for m in sent] == [message_id] and sent[0]["decision_id"] is None
    assert sent[0]["due_at"] <= sent[0]["sent_at"] <= sent[0]["delivered_at"]  # handed over, then accepted
