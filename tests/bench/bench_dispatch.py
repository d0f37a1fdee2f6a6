"""Outbox dispatch throughput: N due reminders sent by real worker processes into a local SMTP
sink (aiosmtpd) and a webhook sink (http.server), exactly once verified by counting arrivals.

Run: ``python tests/bench/bench_dispatch.py [--messages 20000] [--workers 2] [--runner embedded|celery]
[--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/14]``
(not a pytest test). A fresh PostgreSQL database is made and dropped. Half the messages are
email, half webhook. Prints sends per second from the first claim to the last arrival, and the
number of duplicates and missing messages (both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    def __init__(self):
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def add(self, key: str) -> None:
        with self.lock:
            self.ids.append(key)


def start_smtp(sink: Sink) -> tuple[object, int]:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            text = envelope.original_content.decode(errors="replace")
            sink.add(next(line for line in text.splitlines() if line.lower().startswith("message-id")))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def start_webhook(sink: Sink) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            sink.add(json.loads(body)["id"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def prepare(url: str, n: int, hook_port: int) -> None:
    """A study with a webhook, n participants' worth of due reminder rows (half email, half webhook)."""
    import sqlalchemy as sa

    from hwtrial.models import Allocation, HomeworkInstance, OutboxMessage, utcnow
    from tests.conftest import STUDIES, make_app, upgrade

    app = make_app(url)
    upgrade(app)
    text = (STUDIES / "reminder-rct.yaml").read_text().replace("channels: [email]", "channels: [email, webhook]")
    text += f"\nnotifications:\n  webhook: {{url: 'http://127.0.0.1:{hook_port}/hook'}}\n"
    path = Path(tempfile.mkdtemp()) / "bench.yaml"
    path.write_text(text)
    from hwtrial.services.loading import load_study_from_file

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        study = load_study_from_file(session, "bench", str(path), activate=True)
        session.flush()
        now = utcnow()
        people = 200
        pids = []
        from hwtrial.auth.principal import Principal
        from hwtrial.services import enrolment

        for i in range(people):
            done = enrolment.enrol(session, Principal(role="coordinator"), study, {
                "external_id": f"b{i}", "strata": {"site": "north", "severity": "mild"},
                "consent": {"version": "2.1"}, "email": f"p{i}@sink.example", "timezone": "UTC"})
            session.scalar(sa.select(Allocation).where(Allocation.participant_id == done.participant.id)
                           ).arm_key = "reminders"
            session.add(HomeworkInstance(study_id=study.id, participant_id=done.participant.id,
                                         template_key="thought_record", slot_key="bench",
                                         open_at=now - timedelta(hours=1), scheduled_at=now,
                                         due_at=now + timedelta(days=2), expire_at=now + timedelta(days=3)))
            pids.append(done.participant.id)
        session.flush()
        tasks = dict(session.execute(sa.select(HomeworkInstance.participant_id, HomeworkInstance.id)
                                     .where(HomeworkInstance.slot_key == "bench")).all())
        rows = []
        for i in range(n):
            pid, channel = pids[i % people], ("email", "webhook")[i % 2]
            send_at = now - timedelta(seconds=1)
            # a treated decision point's reminder: checked at send time (participant active,
            # task open) like every reminder, without re-running the fixed-time planner
            rows.append({"dedupe_key": f"bench:{i}", "channel": channel, "due_at": send_at, "status": "pending",
                         "attempts": 0, "study_id": study.id, "participant_id": pid, "created_at": now,
                         "payload": {"kind": "reminder", "slot": "mrt:0", "instance_id": tasks[pid],
                                     "local_time": send_at.isoformat(), "send_at": send_at.isoformat(),
                                     "decision_id": 0}})
        session.execute(sa.insert(OutboxMessage), rows)
        session.commit()
        app.extensions["hwtrial"].db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runner", choices=["embedded", "celery"], default="embedded")
    parser.add_argument("--pg", default=os.environ.get("HWTRIAL_TEST_DATABASE_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    from tests.conftest import create_pg_database, drop_pg_database

    name = f"hwtrial_bench_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(args.pg, name)
    sink = Sink()
    smtp, smtp_port = start_smtp(sink)
    hook, hook_port = start_webhook(sink)
    try:
        prepare(url, args.messages, hook_port)
        env = {**os.environ, "HWTRIAL_ENV": "testing", "HWTRIAL_SECRET_KEY": "bench-secret-key-bench-secret-key",
               "HWTRIAL_DATABASE_URL": url, "HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": str(smtp_port),
               "HWTRIAL_WEBHOOK_SECRET_REMINDER_RCT": "bench", "HWTRIAL_OUTBOX_BATCH": "200",
               "HWTRIAL_WORKER_INTERVAL_SECONDS": "1", "HWTRIAL_CELERY_BROKER_URL": args.redis,
               "HWTRIAL_CELERY_QUEUE": f"bench-{uuid.uuid4().hex[:6]}"}
        if args.runner == "embedded":
            commands = [[str(BIN / "hwtrial"), "worker", "--interval", "0.2"] for _ in range(args.workers)]
        else:
            commands = [[str(BIN / "celery"), "-A", "hwtrial.reminders.celery_app", "worker", "--beat",
                         "--concurrency", str(args.workers), "--loglevel", "WARNING",
                         "--schedule", str(Path(tempfile.mkdtemp()) / "beat")]]
        start = time.monotonic()
        procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
        deadline = start + 1800
        while len(sink.ids) < args.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        time.sleep(2)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        distinct = len(set(sink.ids))
        print(f"runner={args.runner} workers={args.workers} messages={args.messages} "
              f"arrived={len(sink.ids)} distinct={distinct} duplicates={len(sink.ids) - distinct} "
              f"missing={args.messages - distinct} seconds={elapsed:.1f} "
              f"sends_per_second={distinct / elapsed:.0f} (includes worker start-up) cpus={os.cpu_count()} "
              f"load={os.getloadavg()[0]:.1f}")
    finally:
        smtp.stop()
        hook.shutdown()
        drop_pg_database(args.pg, name)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
