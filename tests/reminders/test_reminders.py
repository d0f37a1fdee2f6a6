"""Reminders for the randomised arm, planned in the participant's zone and delivered by the
worker: email at a real SMTP server, signed webhooks at a real HTTP receiver; none for control,
none after submission or withdrawal, re-planned (old rows cancelled) after a time-zone change."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hwtrial.auth.links import read_link_token
from hwtrial.models import HomeworkInstance, OutboxMessage, Participant, utcnow
from hwtrial.reminders.webhooks import verify
from hwtrial.reminders.worker import run_pass
from hwtrial.services.loading import load_study_from_file
from tests.homework.conftest import db

from .conftest import part

REPO = Path(__file__).resolve().parents[2]
CONSENT = {"version": "2.1", "method": "web", "locale": "en"}


@pytest.fixture
def app_config(smtp_server):
    _, port = smtp_server
    return {"HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": port,
            "HWTRIAL_MAIL_FROM": "trials@clinic.example", "HWTRIAL_PUBLIC_URL": "https://trials.example",
            "HWTRIAL_WEBHOOK_SECRETS": {"hook-rct": "s3cret-for-the-host"}}


def participant(app, enrol, arm, **fields):
    pid = enrol("reminder-rct", arm=arm, consent=CONSENT, timezone="Europe/London", **fields)
    with app.app_context():
        first = db(app).scalar(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                               .order_by(HomeworkInstance.due_at))
        return pid, first.open_at, first.due_at, first.id


def outbox(app, pid):
    with app.app_context():
        return db(app).scalars(sa.select(OutboxMessage).where(OutboxMessage.participant_id == pid)
                               .order_by(OutboxMessage.due_at)).all()


def test_reminder_arm_gets_its_emails_in_local_time_and_control_none(app, smtp_server, load_study, enrol):
    mailbox, _ = smtp_server
    load_study("reminder-rct")
    pid, open_at, due_at, _ = participant(app, enrol, "reminders", email="pat@home.example")
    control, *_ = participant(app, enrol, "control", email="ctl@home.example")
    run_pass(app, open_at)
    rows = outbox(app, pid)
    assert rows and {r.channel for r in rows} == {"email"} and outbox(app, control) == []
    london = ZoneInfo("Europe/London")
    for row in rows:
        wall = row.due_at.astimezone(london)
        assert row.payload["slot"] == f"due-24h:{row.payload['instance_id']}" or (
            wall.strftime("%a %H:%M") in {"Mon 18:30", "Thu 18:30"})
    report = run_pass(app, rows[-1].due_at)
    assert report.dispatch.sent == len(rows)
    assert len(mailbox.messages) == len(rows)
    recipients, mail = mailbox.messages[0]
    assert recipients == ["pat@home.example"]
    body = part(mail)
    token = body.split("https://trials.example/p/start?token=")[1].split()[0].split("&")[0]
    assert read_link_token(app.config["HWTRIAL_SECRET_KEY"], token, timedelta(days=1))[0] == pid
    assert run_pass(app, rows[-1].due_at).reminders["queued"] == 0  # planning again queues nothing twice


def test_submitted_task_and_withdrawn_participant_get_no_more_reminders(app, smtp_server, load_study, enrol):
    mailbox, _ = smtp_server
    load_study("reminder-rct")
    pid, open_at, _, instance_id = participant(app, enrol, "reminders", email="pat@home.example")
    other, other_open, *_ = participant(app, enrol, "reminders", email="other@home.example")
    run_pass(app, open_at)
    pending = outbox(app, pid)
    assert pending
    with app.app_context():
        instance = db(app).get(HomeworkInstance, instance_id)
        instance.state, instance.submitted_at = "submitted", open_at
        db(app).get(Participant, other).status = "withdrawn"
        db(app).commit()
    report = run_pass(app, max(r.due_at for r in pending + outbox(app, other)))
    assert report.dispatch.sent == 0 and mailbox.messages == []
    assert {r.status for r in outbox(app, pid) if r.payload["instance_id"] == instance_id} == {"cancelled"}
    assert {r.status for r in outbox(app, other)} <= {"cancelled"}


def test_time_zone_change_cancels_the_old_times_and_plans_new_ones(app, smtp_server, load_study, enrol):
    mailbox, _ = smtp_server
    load_study("reminder-rct")
    pid, open_at, *_ = participant(app, enrol, "reminders", email="pat@home.example")
    run_pass(app, open_at)
    before = {r.dedupe_key for r in outbox(app, pid) if r.payload["slot"].startswith("fixed:")}
    assert before
    with app.app_context():
        db(app).get(Participant, pid).timezone = "America/New_York"
        db(app).commit()
    report = run_pass(app, open_at + timedelta(minutes=1))
    rows = {r.dedupe_key: r for r in outbox(app, pid)}
    assert report.reminders["cancelled"] >= len(before)
    assert all(rows[key].status == "cancelled" for key in before)
    new_fixed = [r for r in rows.values() if r.status == "pending" and r.payload["slot"].startswith("fixed:")]
    assert all(r.due_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "18:30"
               for r in new_fixed)


class Receiver(BaseHTTPRequestHandler):
    answers: list = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).answers.append((self.headers, body))  # case-insensitive
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    Receiver.answers, Receiver.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver, port
    server.shutdown()
    server.server_close()


def load_hook_study(app, port):
    text = (REPO / "studies" / "reminder-rct.yaml").read_text()
    text = text.replace("key: reminder-rct", "key: hook-rct").replace("channels: [email]", "channels: [webhook]")
    text += f"\nnotifications:\n  webhook: {{url: 'http://127.0.0.1:{port}/hwtrial'}}\n"
    path = Path(app.instance_path).parent / f"hook-{port}.yaml"
    path.write_text(text)
    with app.app_context():
        load_study_from_file(db(app), "test", str(path), activate=True)
        db(app).commit()


def test_webhook_reminders_are_signed_and_retried_on_500(app, receiver, enrol, tmp_path):
    answers, port = receiver
    app.instance_path = str(tmp_path / "instance")
    load_hook_study(app, port)
    pid = enrol("hook-rct", arm="reminders", consent=CONSENT, strata={"site": "north", "severity": "mild"})
    with app.app_context():
        first = db(app).scalar(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                               .order_by(HomeworkInstance.due_at))
        open_at = first.open_at
    run_pass(app, open_at)
    rows = outbox(app, pid)
    assert rows and {r.channel for r in rows} == {"webhook"}
    answers.status = 500
    failed = run_pass(app, rows[0].due_at)
    assert failed.dispatch.retried == 1 and len(answers.answers) == 1
    answers.status = 200
    retried = run_pass(app, rows[0].due_at + timedelta(minutes=5))
    assert retried.dispatch.sent >= 1
    (first_headers, _), (headers, body) = answers.answers[0], answers.answers[1]
    assert verify("s3cret-for-the-host", headers["HWTrial-Timestamp"], body, headers["HWTrial-Signature"])
    assert not verify("another-secret", headers["HWTrial-Timestamp"], body, headers["HWTrial-Signature"])
    assert first_headers["Idempotency-Key"] == headers["Idempotency-Key"]  # a repeat is recognisable
    sent = json.loads(body)
    assert sent["participant"]["id"] == pid and sent["type"] == "reminder" and "arm" not in sent


def test_the_reminder_link_records_the_click_and_opens_the_task(app, smtp_server, load_study, enrol):
    from hwtrial.models import Event
    from tests.homework.conftest import CSRF

    mailbox, _ = smtp_server
    load_study("reminder-rct")
    pid, open_at, *_ = participant(app, enrol, "reminders", email="pat@home.example")
    other, *_ = participant(app, enrol, "reminders", email="other@home.example")
    run_pass(app, open_at)
    run_pass(app, outbox(app, pid)[0].due_at)
    mail = next(m for to, m in mailbox.messages if to == ["pat@home.example"])
    body = part(mail)
    link = body.split("https://trials.example")[1].split()[0]
    token, reminder = link.split("token=")[1].split("&reminder=")
    browser = app.test_client()
    page = browser.get(link).get_data(as_text=True)
    assert f'name="reminder" value="{reminder}"' in page
    form = {"csrf_token": CSRF.search(page)[1], "token": token, "reminder": reminder}
    answer = browser.post("/p/start", data=form)
    instance_id = next(r for r in outbox(app, pid) if str(r.id) == reminder).payload["instance_id"]
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/p/tasks/{instance_id}")
    browser.post("/p/start", data=form)  # a second click is the same event
    with app.app_context():
        clicks = db(app).scalars(sa.select(Event).where(Event.type == "reminder_clicked")).all()
        assert [(c.participant_id, c.instance_id) for c in clicks] == [(pid, instance_id)]
    # someone else's reminder id in one's own link is ignored (no event, lands at home)
    run_pass(app, outbox(app, other)[0].due_at)
    with app.app_context():
        from hwtrial.auth.links import make_link_token

        own = make_link_token(app.config["HWTRIAL_SECRET_KEY"], other, 0)
    page = app.test_client()
    text = page.get(f"/p/start?token={own}").get_data(as_text=True)
    answer = page.post("/p/start", data={"csrf_token": CSRF.search(text)[1], "token": own, "reminder": reminder})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/p/")
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).where(Event.type == "reminder_clicked")) == 1


def test_participant_pauses_and_stops_reminders_from_their_page(app, smtp_server, load_study, enrol, sign_in):
    from hwtrial.models import AuditEntry, Event
    from tests.homework.conftest import csrf

    mailbox, _ = smtp_server
    load_study("reminder-rct")
    pid, *_ = participant(app, enrol, "reminders", email="pat@home.example")
    control, *_ = participant(app, enrol, "control")
    now = utcnow()
    with app.app_context():  # the first tasks are open now, so their pages can be shown
        for who in (pid, control):
            first = db(app).scalar(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == who)
                                   .order_by(HomeworkInstance.open_at))
            first.open_at, first.due_at, first.expire_at = now - timedelta(hours=1), now + timedelta(days=2), \
                now + timedelta(days=3)
        db(app).commit()
    run_pass(app, now)
    queued = [r for r in outbox(app, pid) if r.status == "pending"]
    assert queued
    browser = sign_in(pid)
    task = f"/p/tasks/{queued[0].payload['instance_id']}"
    assert "Pause reminders for 3 days" in browser.get(task).get_data(as_text=True)
    stop = browser.post("/p/reminders", data={"csrf_token": csrf(browser, task), "action": "stop",
                                               "task": task.rsplit("/", 1)[1]})
    assert stop.status_code == 302 and stop.headers["Location"].endswith(task)
    assert "You have stopped your reminders." in browser.get(task).get_data(as_text=True)
    report = run_pass(app, max(r.due_at for r in queued))
    assert report.dispatch.sent == 0 and mailbox.messages == []
    assert {r.status for r in outbox(app, pid)} == {"cancelled"}
    resumed = browser.post("/p/reminders", data={"csrf_token": csrf(browser, task), "action": "resume"})
    assert resumed.status_code == 302
    with app.app_context():
        actions = db(app).scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("reminders.%"))
                                  .order_by(AuditEntry.seq)).all()
        types = db(app).scalars(sa.select(Event.type).where(Event.participant_id == pid)).all()
    assert actions == ["reminders.stop", "reminders.resume"] and {"reminders_stop", "reminders_resume"} <= set(types)
    # the control arm gets no reminders and is not offered the choice
    other = sign_in(control)
    with app.app_context():
        their_task = db(app).scalar(sa.select(HomeworkInstance.id).where(HomeworkInstance.participant_id == control)
                                    .order_by(HomeworkInstance.open_at))
    page = other.get(f"/p/tasks/{their_task}").get_data(as_text=True)
    assert page.count("<h1>") == 1 and "Pause reminders" not in page
    assert other.post("/p/reminders", data={"csrf_token": csrf(other, f"/p/tasks/{their_task}"),
                                            "action": "pause"}).status_code == 404
