"""Outbox dispatch throughput: N due reminders sent by real worker processes (embedded
``hwtrial worker`` or Celery on Redis) into local SMTP and webhook sinks, exactly once verified
by counting what arrived.

Run (not a pytest test; a fresh PostgreSQL database is made and dropped)::

    python tests/bench/bench_dispatch.py --messages 100000 --workers 2 --channels mixed
    python tests/bench/bench_dispatch.py --messages 100000 --workers 2 --runner celery
    python tests/bench/bench_dispatch.py --messages 20000 --sink-only     # the sinks alone
    python tests/bench/bench_dispatch.py --messages 20000 --runner profile  # cProfile
    python tests/bench/bench_dispatch.py --messages 20000 --runner cpu      # CPU per message

``--channels email|webhook|mixed`` (mixed alternates), ``--batch`` (HWTRIAL_OUTBOX_BATCH),
``--sink-processes`` (server processes per sink), ``--pg URL``, ``--redis URL`` (db 14 by
default, never the tests' 15). The sinks (:mod:`dispatch_sinks`) are asyncio protocols in
their own processes. Prints sends per second from the workers' start to the last arrival
and in steady state (first to last arrival), and the duplicates and missing messages
(both must be 0) against the rows recorded ``sent``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from dispatch_sinks import Sinks  # noqa: E402

BIN = Path(sys.executable).parent


def prepare(url: str, n: int, hook_port: int, channels: str) -> None:
    """A study with a webhook, n due reminder rows for 200 participants (email, webhook or
    alternating)."""
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
            pid = pids[i % people]
            channel = {"email": "email", "webhook": "webhook"}.get(channels) or ("email", "webhook")[i % 2]
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


def sink_only(n: int, sinks: Sinks, clients: int) -> None:
    """The sinks alone: ``clients`` processes send n/clients emails (one smtplib session) and
    as many webhooks (one keep-alive connection) as fast as they can."""
    import http.client
    import multiprocessing as mp
    import smtplib

    from hwtrial.reminders.webhooks import sign

    def client(k: int, channel: str) -> None:
        if channel == "smtp":
            smtp = smtplib.SMTP("127.0.0.1", sinks.ports["smtp"])
            for i in range(n // clients):  # prebuilt bytes: the client's own cost stays small
                smtp.sendmail("a@x.example", ["b@x.example"],
                              f"Message-ID: <{k}.{i}@x.example>\r\nSubject: s\r\n\r\nhello\r\n".encode())
            smtp.quit()
        else:
            connection = http.client.HTTPConnection("127.0.0.1", sinks.ports["webhook"])
            for i in range(n // clients):
                body, stamp = json.dumps({"id": f"{k}.{i}"}).encode(), int(time.time())
                connection.request("POST", "/hook", body=body, headers={
                    "HWTrial-Timestamp": str(stamp), "HWTrial-Signature": sign(sinks.secret, stamp, body)})
                connection.getresponse().read()

    for channel in ("smtp", "webhook"):
        before, start = sinks.arrived(), time.monotonic()
        procs = [mp.get_context("fork").Process(target=client, args=(k, channel)) for k in range(clients)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        elapsed = time.monotonic() - start
        print(f"sink-only channel={channel} clients={clients} messages={sinks.arrived() - before} "
              f"seconds={elapsed:.2f} per_second={(sinks.arrived() - before) / elapsed:.0f}")


def profile_in_process(url: str, env: dict, path: str) -> None:
    """One embedded worker in this process under cProfile (stdlib), draining the outbox."""
    import cProfile
    import io
    import pstats

    os.environ.update(env)
    from hwtrial import create_app
    from hwtrial.reminders.worker import run_pass

    app = create_app()
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall time (the machine may be busy)
    profiler.enable()
    plan = True
    while run_pass(app, plan=plan).dispatch.claimed:
        plan = False
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(60)
    stats.sort_stats("tottime").print_stats(40)
    Path(path).write_text(out.getvalue())
    print(f"profile written to {path}")


def cpu_in_process(url: str, env: dict, messages: int) -> None:
    """One embedded worker in this process: CPU per message of delivery alone (planning and
    start-up excluded), the figure that bounds sends per second per core."""
    os.environ.update(env)
    from hwtrial import create_app
    from hwtrial.reminders.worker import run_pass

    app = create_app()
    run_pass(app, plan=True, stop=lambda: True)  # plan (and warm up) without sending
    cpu, wall = time.process_time(), time.monotonic()
    sent = 0
    while (report := run_pass(app, plan=False).dispatch).claimed:
        sent += report.sent
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(f"in-process delivery: sent={sent} cpu_ms_per_message={cpu / max(sent, 1) * 1000:.3f} "
          f"wall_seconds={wall:.1f} -> {max(sent, 1) / cpu:.0f} sends per CPU-second of the worker")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runner", choices=["embedded", "celery", "profile", "cpu"], default="embedded")
    parser.add_argument("--channels", choices=["email", "webhook", "mixed"], default="mixed")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--sink-processes", type=int, default=1, help="server processes per sink")
    parser.add_argument("--sink-only", action="store_true", help="measure the sinks alone and exit")
    parser.add_argument("--profile-out", default="dispatch-profile.txt")
    parser.add_argument("--pg", default=os.environ.get("HWTRIAL_TEST_DATABASE_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    from tests.conftest import create_pg_database, drop_pg_database

    sinks = Sinks(secret="bench", processes=args.sink_processes)
    if args.sink_only:
        sink_only(args.messages, sinks, args.workers)
        sinks.stop()
        return
    name = f"hwtrial_bench_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(args.pg, name)
    try:
        prepare(url, args.messages, sinks.ports["webhook"], args.channels)
        env = {**os.environ, "HWTRIAL_ENV": "testing", "HWTRIAL_SECRET_KEY": "bench-secret-key-bench-secret-key",
               "HWTRIAL_DATABASE_URL": url, "HWTRIAL_SMTP_HOST": "127.0.0.1",
               "HWTRIAL_SMTP_PORT": str(sinks.ports["smtp"]), "HWTRIAL_WEBHOOK_SECRET_REMINDER_RCT": "bench",
               "HWTRIAL_OUTBOX_BATCH": str(args.batch), "HWTRIAL_WORKER_INTERVAL_SECONDS": "1",
               "HWTRIAL_CELERY_BROKER_URL": args.redis, "HWTRIAL_CELERY_QUEUE": f"bench-{uuid.uuid4().hex[:6]}"}
        start = time.monotonic()
        if args.runner == "profile":
            profile_in_process(url, env, args.profile_out)
            procs = []
        elif args.runner == "cpu":
            cpu_in_process(url, env, args.messages)
            procs = []
        elif args.runner == "embedded":
            procs = [subprocess.Popen([str(BIN / "hwtrial"), "worker", "--interval", "0.2"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for _ in range(args.workers)]
        else:
            procs = [subprocess.Popen(
                [str(BIN / "celery"), "-A", "hwtrial.reminders.celery_app", "worker", "--beat",
                 "--concurrency", str(args.workers), "--loglevel", "WARNING",
                 "--schedule", str(Path(tempfile.mkdtemp()) / "beat")], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        first = None
        deadline = start + 1800
        while sinks.arrived() < args.messages and time.monotonic() < deadline:
            if first is None and sinks.arrived():
                first = (time.monotonic(), sinks.arrived())
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        time.sleep(2)  # anything sent twice would arrive now
        pg_cpu = postgres_cpu(url, name)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        workers_cpu = children_cpu()
        sent = count_sent(url)
        ids = sinks.stop()
        sinks_cpu = children_cpu() - workers_cpu
        arrived = ids["smtp"] + ids["webhook"]
        distinct = len(set(arrived))
        steady = (len(arrived) - first[1]) / (start + elapsed - first[0]) if first else 0
        print(f"runner={args.runner} workers={args.workers} channels={args.channels} batch={args.batch} "
              f"messages={args.messages} recorded_sent={sent} arrived={len(arrived)} "
              f"(smtp={len(ids['smtp'])} webhook={len(ids['webhook'])}) distinct={distinct} "
              f"duplicates={len(arrived) - distinct} missing={args.messages - distinct} "
              f"seconds={elapsed:.1f} sends_per_second={distinct / elapsed:.0f} (from worker start) "
              f"steady={steady:.0f}/s (first to last arrival) cpus={os.cpu_count()} "
              f"load={os.getloadavg()[0]:.1f}")
        n = max(distinct, 1)
        print(f"cpu ms per message: workers={workers_cpu / n * 1000:.2f} sinks={sinks_cpu / n * 1000:.2f} "
              f"postgres_backends={pg_cpu / n * 1000:.2f} -> at most "
              f"{os.cpu_count() / ((workers_cpu + sinks_cpu + pg_cpu) / n):.0f} sends/s on {os.cpu_count()} idle cores")
    finally:
        drop_pg_database(args.pg, name)


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu(url: str, database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the bench database (same machine)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                            {"d": database}).scalars().all()
    engine.dispose()
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def count_sent(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        sent = conn.exec_driver_sql("SELECT count(*) FROM hwtrial_outbox WHERE status = 'sent'").scalar()
    engine.dispose()
    return sent


if __name__ == "__main__":
    main()
