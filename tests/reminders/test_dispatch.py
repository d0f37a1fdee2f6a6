"""The outbox is delivered: the PHQ-9 item-9 alert reaches staff at a real SMTP server, once;
refusals retry with backoff and end as dead letters without blocking other messages; a worker
that dies after claiming leaves the message to the next worker, with the same Message-ID."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hwtrial.models import OutboxMessage, utcnow
from hwtrial.reminders.channels import message_id
from hwtrial.reminders.dispatcher import RetryPolicy, claim_due, dispatch_due
from hwtrial.reminders.worker import run_forever, run_pass
from tests.homework.conftest import csrf, db


@pytest.fixture
def app_config(smtp_server):
    _, port = smtp_server
    return {"HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": port,
            "HWTRIAL_MAIL_FROM": "trials@clinic.example", "HWTRIAL_SMTP_TIMEOUT_SECONDS": 2,
            "HWTRIAL_OUTBOX_MAX_ATTEMPTS": 3}


def answer_phq9_item9(app, enrol, sign_in, **enrol_fields) -> int:
    pid = enrol("reminder-rct", **enrol_fields)
    browser = sign_in(pid)
    browser.post("/p/consent", data={"csrf_token": csrf(browser, "/p/consent"), "agree": "yes"})
    url = "/p/questionnaires/baseline/phq9"
    answers = {f"phq9_{i}": "1" for i in range(1, 10)}
    done = browser.post(url, data={"csrf_token": csrf(browser, url), **answers, "phq9_9": "2"})
    assert done.status_code == 302
    return pid


def queue(app, n: int, *, due=None) -> list[int]:
    """``n`` safety-alert emails queued directly (as the questionnaire service does)."""
    with app.app_context():
        rows = [OutboxMessage(dedupe_key=f"test:{i}", channel="email", due_at=due or utcnow(),
                              payload={"kind": "safety_alert", "to_role": "coordinator", "study_key": "s",
                                       "participant_id": 0, "alert_id": i, "reason": "phq9_9 = 3"})
                for i in range(n)]
        db(app).add_all(rows)
        db(app).commit()
        return [r.id for r in rows]


def statuses(app) -> dict[str, int]:
    with app.app_context():
        return dict(db(app).execute(sa.select(OutboxMessage.status, sa.func.count())
                                    .group_by(OutboxMessage.status)).all())


def test_safety_alert_reaches_coordinators_and_the_therapist_once(app, smtp_server, load_study, make_user,
                                                                  enrol, sign_in):
    mailbox, _ = smtp_server
    load_study("reminder-rct")
    make_user("coordinator", email="lead@clinic.example")
    make_user("statistician", email="stats@clinic.example")
    therapist_id, _ = make_user("therapist", email="ther@clinic.example")
    pid = answer_phq9_item9(app, enrol, sign_in, therapist_id=therapist_id)

    report = run_pass(app)
    assert (report.dispatch.claimed, report.dispatch.sent) == (1, 1)
    assert len(mailbox.messages) == 1
    recipients, mail = mailbox.messages[0]
    assert sorted(recipients) == ["lead@clinic.example", "ther@clinic.example"]
    body = mail.get_payload(decode=True).decode()
    assert "phq9_9 = 2" in body and f"Participant id: {pid}" in body
    assert "Email reminders" not in body and "arm" not in body.lower()  # never the arm
    with app.app_context():
        row = db(app).scalar(sa.select(OutboxMessage))
        assert (row.status, row.attempts) == ("sent", 1) and row.sent_at is not None
        assert mail["Message-ID"] == message_id(row.dedupe_key, "trials@clinic.example")
    assert run_pass(app).dispatch.claimed == 0 and len(mailbox.messages) == 1


def test_refusing_server_retries_with_backoff_then_dead_letters(app, smtp_server, make_user):
    mailbox, _ = smtp_server
    make_user("coordinator")
    mailbox.refuse = True
    [message] = queue(app, 1)
    now = utcnow()
    first = run_pass(app, now)
    assert (first.dispatch.retried, first.dispatch.sent) == (1, 0)
    with app.app_context():
        row = db(app).get(OutboxMessage, message)
        assert row.status == "pending" and "550" in row.last_error
        assert row.due_at - now == RetryPolicy().delay(1)
    assert run_pass(app, now + timedelta(seconds=1)).dispatch.claimed == 0  # not before its backoff
    second = run_pass(app, now + timedelta(minutes=2))
    third = run_pass(app, now + timedelta(hours=2))
    assert (second.dispatch.retried, third.dispatch.dead) == (1, 1)
    assert statuses(app) == {"dead": 1}
    assert run_pass(app, now + timedelta(days=1)).dispatch.claimed == 0  # dead stays dead
    assert mailbox.messages == []


def test_a_failing_message_does_not_block_the_others(app, smtp_server, make_user):
    mailbox, _ = smtp_server
    make_user("coordinator", email="lead@clinic.example")
    queue(app, 3)
    with app.app_context():  # one message of an unknown kind fails on every attempt
        db(app).add(OutboxMessage(dedupe_key="bad", channel="email", due_at=utcnow() - timedelta(minutes=1),
                                  payload={"kind": "nonsense"}))
        db(app).commit()
    report = run_pass(app)
    assert (report.dispatch.claimed, report.dispatch.sent, report.dispatch.retried) == (4, 3, 1)
    assert len(mailbox.messages) == 3


def test_hanging_server_times_out_and_is_retried(app, smtp_server, make_user):
    mailbox, _ = smtp_server
    make_user("coordinator")
    mailbox.hang = 4.0  # longer than HWTRIAL_SMTP_TIMEOUT_SECONDS
    queue(app, 1)
    report = run_pass(app)
    assert report.dispatch.retried == 1
    with app.app_context():
        assert "timed out" in db(app).scalar(sa.select(OutboxMessage.last_error)).lower()


def test_a_claim_whose_worker_died_is_sent_after_the_lease(app, smtp_server, make_user):
    mailbox, _ = smtp_server
    make_user("coordinator")
    [message] = queue(app, 1)
    now = utcnow()
    with app.app_context():  # a worker claims, then dies before sending
        assert claim_due(db(app), now, limit=10, lease=timedelta(minutes=5))[0] == [message]
    assert run_pass(app, now + timedelta(minutes=1)).dispatch.claimed == 0  # still leased
    assert run_pass(app, now + timedelta(minutes=6)).dispatch.sent == 1
    with app.app_context():
        row = db(app).get(OutboxMessage, message)
        assert (row.status, row.attempts) == ("sent", 2)
    assert len(mailbox.messages) == 1


def test_without_smtp_settings_messages_wait_visibly(app, make_user):
    app.config["HWTRIAL_SMTP_HOST"] = None
    make_user("coordinator")
    queue(app, 1)
    assert run_pass(app).dispatch.retried == 1
    with app.app_context():
        assert "HWTRIAL_SMTP_HOST" in db(app).scalar(sa.select(OutboxMessage.last_error))


def test_concurrent_claims_never_overlap(app, backend):
    queue(app, 60)
    now = utcnow()
    claimed: list[list[int]] = []

    def claim():
        with app.app_context():
            for _ in range(10):
                claimed.append(claim_due(db(app), now, limit=5, lease=timedelta(minutes=5))[0])
            db(app).remove()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == 60


def test_embedded_worker_delivers_within_a_second_of_the_alert(app, smtp_server, load_study, make_user,
                                                               enrol, sign_in):
    mailbox, _ = smtp_server
    load_study("reminder-rct")
    make_user("coordinator")
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(app, stop, 0.2))
    worker.start()
    try:
        answer_phq9_item9(app, enrol, sign_in)
        for _ in range(50):
            if mailbox.messages:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(10)
    assert len(mailbox.messages) == 1 and not worker.is_alive()


def test_dispatch_takes_now_and_send_as_arguments(app):
    queue(app, 2, due=utcnow() + timedelta(hours=1))
    seen = []

    def send(message):
        seen.append(message.dedupe_key)

    with app.app_context():
        assert dispatch_due(db(app), utcnow(), send).claimed == 0
        report = dispatch_due(db(app), utcnow() + timedelta(hours=2), send)
    assert report.sent == 2 and seen == ["test:0", "test:1"]


def test_the_lease_runs_from_the_clock_not_from_the_pass_start(app):
    """A pass whose planning took longer than the lease must still hold its claim for the whole
    lease (it once claimed with ``now + lease`` already past, and a second worker sent the
    whole batch again)."""
    [message] = queue(app, 1)
    start = utcnow()
    later = start + timedelta(seconds=30)  # planning took 30 s
    leases = []

    def send(row):
        with app.app_context():
            leases.append(db(app).scalar(sa.select(OutboxMessage.lease_until).where(OutboxMessage.id == message)))

    with app.app_context():
        report = dispatch_due(db(app), start, send, lease=timedelta(seconds=5), clock=lambda: later)
    assert report.sent == 1 and leases[0] >= later + timedelta(seconds=5)


@pytest.mark.parametrize("setting, value", [("HWTRIAL_OUTBOX_LEASE_SECONDS", 1),
                                            ("HWTRIAL_DISPATCH_CONCURRENCY", 0),
                                            ("HWTRIAL_OUTBOX_BATCH", 0)])
def test_dispatcher_settings_that_could_send_twice_are_refused(setting, value):
    from hwtrial.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=setting):
        load_config("/tmp", {"HWTRIAL_ENV": "testing", setting: value})
