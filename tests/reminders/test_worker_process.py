"""``hwtrial worker`` as a real process: killed with SIGKILL in the middle of a batch and
restarted, nothing queued is lost and only the message in flight can arrive twice (with the
same Message-ID, so a receiver drops it); two workers racing on one database send each once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwtrial.models import utcnow

from .test_dispatch import queue, statuses

HWTRIAL = Path(sys.executable).with_name("hwtrial")


@pytest.fixture
def app_config(smtp_server):
    _, port = smtp_server
    return {"HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": port}


def start_worker(app, database_url, port, tmp_path, *extra, concurrency: int = 4):
    env = {**os.environ, "HWTRIAL_DISPATCH_CONCURRENCY": str(concurrency), "HWTRIAL_ENV": "testing", "HWTRIAL_SECRET_KEY": app.config["HWTRIAL_SECRET_KEY"],
           "HWTRIAL_DATABASE_URL": database_url, "HWTRIAL_SMTP_HOST": "127.0.0.1",
           "HWTRIAL_SMTP_PORT": str(port), "HWTRIAL_OUTBOX_BATCH": "10", "HWTRIAL_OUTBOX_LEASE_SECONDS": "2"}
    with open(tmp_path / "worker.log", "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen([str(HWTRIAL), "worker", "--interval", "0.2", *extra], env=env,
                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sigkill_mid_batch_loses_nothing(app, database_url, smtp_server, make_user, tmp_path, concurrency):
    mailbox, port = smtp_server
    make_user("coordinator")
    mailbox.hang = 0.05  # each message takes a moment, so the kill lands inside a batch
    queue(app, 40, due=utcnow())
    worker = start_worker(app, database_url, port, tmp_path, concurrency=concurrency)
    assert wait_for(lambda: len(mailbox.messages) >= 12, 60), (tmp_path / "worker.log").read_text()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    arrived_at_kill = len(mailbox.messages)
    assert arrived_at_kill < 40
    restarted = start_worker(app, database_url, port, tmp_path, concurrency=concurrency)
    try:
        assert wait_for(lambda: statuses(app) == {"sent": 40}, 90), statuses(app)
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(30) == 0  # SIGTERM stops it cleanly
    ids = [mail["Message-ID"] for _, mail in mailbox.messages]
    assert len(set(ids)) == 40  # none lost
    # Sent again (same Message-ID, so a receiver drops it): at most what was in flight at the
    # kill and what was sent but not yet recorded (one record interval: 50 ms, a message here)
    assert len(ids) - len(set(ids)) <= 2 * concurrency - (1 if concurrency == 1 else 0)


def test_two_workers_racing_send_each_message_once(app, database_url, backend, smtp_server, make_user,
                                                   tmp_path):
    mailbox, port = smtp_server
    make_user("coordinator")
    queue(app, 60, due=utcnow())
    workers = [start_worker(app, database_url, port, tmp_path) for _ in range(2)]
    try:
        assert wait_for(lambda: statuses(app) == {"sent": 60}, 90), statuses(app)
        time.sleep(1)  # more passes: nothing may go out again
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
    ids = [mail["Message-ID"] for _, mail in mailbox.messages]
    assert len(ids) == len(set(ids)) == 60


def test_worker_once_does_what_is_due_and_exits(app, runner, smtp_server, make_user):
    mailbox, _ = smtp_server
    make_user("coordinator")
    queue(app, 3, due=utcnow())
    result = runner.invoke(args=["hwtrial", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 3" in result.output and len(mailbox.messages) == 3
