"""Celery on Redis, for real: a worker process with beat delivers queued messages to a real
SMTP server, each exactly once, with the database as the source of truth."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hwtrial.models import utcnow
from tests.conftest import REDIS_URL

from .test_dispatch import queue, statuses

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="HWTRIAL_TEST_REDIS_URL is not set")
CELERY = Path(sys.executable).with_name("celery")


@pytest.fixture
def app_config(smtp_server):
    _, port = smtp_server
    return {"HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": port}


def test_celery_worker_and_beat_deliver_each_message_once(app, database_url, smtp_server, make_user, tmp_path):
    mailbox, port = smtp_server
    make_user("coordinator", email="lead@clinic.example")
    queue(app, 30, due=utcnow())
    env = {**os.environ, "HWTRIAL_ENV": "testing", "HWTRIAL_SECRET_KEY": app.config["HWTRIAL_SECRET_KEY"],
           "HWTRIAL_DATABASE_URL": database_url, "HWTRIAL_CELERY_BROKER_URL": REDIS_URL,
           "HWTRIAL_CELERY_QUEUE": f"hwtrial-test-{uuid.uuid4().hex[:8]}",
           "HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": str(port),
           "HWTRIAL_WORKER_INTERVAL_SECONDS": "1", "HWTRIAL_OUTBOX_BATCH": "7"}
    worker = subprocess.Popen(
        [str(CELERY), "-A", "hwtrial.reminders.celery_app", "worker", "--beat", "--concurrency", "2",
         "--pool", "prefork", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "WARNING"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(mailbox.messages) < 30:
            time.sleep(0.2)
        time.sleep(2)  # a few more passes: nothing may arrive twice
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    ids = [mail["Message-ID"] for _, mail in mailbox.messages]
    assert len(ids) == 30 and len(set(ids)) == 30, output[-3000:]
    assert statuses(app) == {"sent": 30}
