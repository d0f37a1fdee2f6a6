"""Task page under load: 32 concurrent participants vs a static file from the same server.

Run: ``python tests/bench/bench_task_page.py [--seconds 10] [--pg postgresql://postgres@127.0.0.1:5432/test]``
(not a pytest test; needs PostgreSQL, on which a throwaway database is created).

Server: gunicorn, 4 sync workers (``--threads N``: 4 gthread workers with N threads each), ``hwtrial:create_app()`` in production mode on that database.
Load: 32 clients (4 processes x 8 threads, so the Python client is not the bottleneck), each
signed in as its own participant (session cookie) and requesting, back to back for
``--seconds``:

* ``task``: ``GET /p/tasks/<own open thought record>`` - session lookup, route policy,
  consent check, instance load with lazy expiry, arm framing, locale, texts, Jinja render;
* ``static``: ``GET /static/hwtrial/hwtrial.css`` - the same server's static-file path.

The runs alternate (static, task, static, task) and the better of each pair is reported:
requests/s, p50/p95/p99 latency, errors. Goal: task p99 < 100 ms and >= 0.3x static req/s.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

CLIENTS, PROCESSES = 32, 4
SECRET = "bench-secret-key-" + "x" * 32


def prepare(url: str) -> tuple[list[tuple[str, int]], str]:
    """Migrated database, the reminder study, 32 consented participants with an open task."""
    from hwtrial.auth.principal import Principal
    from hwtrial.models import HomeworkInstance, utcnow
    from hwtrial.services import enrolment
    from hwtrial.services.loading import load_study_from_file
    from hwtrial.services.sessions import open_session
    from tests.conftest import make_app, upgrade

    app = make_app(url, HWTRIAL_SECRET_KEY=SECRET)
    upgrade(app)
    clients = []
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        study = load_study_from_file(session, "bench", str(REPO / "studies" / "reminder-rct.yaml"), activate=True)
        for i in range(CLIENTS):
            participant = enrolment.enrol(session, Principal(role="coordinator"), study, {
                "external_id": f"bench-{i}", "strata": {"site": "north", "severity": "mild"},
                "consent": {"version": "2.1", "method": "web"}}).participant
            first = session.query(HomeworkInstance).filter_by(participant_id=participant.id).order_by(
                HomeworkInstance.scheduled_at).first()
            first.open_at = utcnow() - timedelta(hours=1)  # open now; due and expiry stay ahead
            cookie = open_session(session, timedelta(days=1), participant=participant)
            clients.append((cookie, first.id))
        session.commit()
        app.extensions["hwtrial"].db.engine.dispose()
    return clients, "/static/hwtrial/hwtrial.css"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, threads: int = 1) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "HWTRIAL_DATABASE_URL": url, "HWTRIAL_SECRET_KEY": SECRET, "HWTRIAL_ENV": "production",
           "HWTRIAL_STUDIES_DIR": str(REPO / "studies")}
    worker = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "gunicorn"), "-w", "4", *worker, "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "hwtrial:create_app()"], env=env, cwd=REPO)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not come up")


def _client(port: int, path: str, cookie: str | None, until: float, out: list) -> None:
    headers = {"Cookie": f"hwtrial_session={cookie}"} if cookie else {}
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
            conn.close()
        except OSError:
            ok = False
        out.append((time.perf_counter() - start, ok))


def _process(port: int, jobs: list[tuple[str, str | None]], seconds: float, queue) -> None:
    until = time.monotonic() + seconds
    results: list[list] = [[] for _ in jobs]
    threads = [threading.Thread(target=_client, args=(port, path, cookie, until, results[i]))
               for i, (path, cookie) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put([r for rs in results for r in rs])


def run(port: int, jobs: list[tuple[str, str | None]], seconds: float) -> dict:
    queue = multiprocessing.Queue()
    per = len(jobs) // PROCESSES
    procs = [multiprocessing.Process(target=_process, args=(port, jobs[i * per:(i + 1) * per], seconds, queue))
             for i in range(PROCESSES)]
    for p in procs:
        p.start()
    samples = [s for _ in procs for s in queue.get()]
    for p in procs:
        p.join()
    times = sorted(t for t, ok in samples if ok)

    def pct(q: float) -> float:
        return times[min(len(times) - 1, int(q * len(times)))] * 1000

    return {"rps": len(times) / seconds, "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
            "errors": sum(not ok for _, ok in samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (gthread worker class when > 1); default: sync workers")
    parser.add_argument("--pg", default=os.environ.get("HWTRIAL_TEST_DATABASE_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    from tests.conftest import create_pg_database, drop_pg_database

    name = f"hwtrial_bench_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(args.pg, name)
    proc = None
    try:
        clients, static = prepare(url)
        proc, port = start_gunicorn(url, args.threads)
        task_jobs = [(f"/p/tasks/{iid}", cookie) for cookie, iid in clients]
        static_jobs = [(static, None)] * CLIENTS
        run(port, task_jobs, 2.0)  # warm-up: imports, template compilation, connection pools
        best: dict[str, dict] = {}
        for _ in range(2):
            for label, jobs in (("static", static_jobs), ("task", task_jobs)):
                result = run(port, jobs, args.seconds)
                if label not in best or result["rps"] > best[label]["rps"]:
                    best[label] = result
        kind = f"gthread x {args.threads}" if args.threads > 1 else "sync"
        print(f"gunicorn 4 {kind} workers, PostgreSQL, {CLIENTS} concurrent clients, "
              f"{args.seconds:.0f} s per run, best of 2")
        for label in ("static", "task"):
            r = best[label]
            print(f"  {label:7s} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   p95 {r['p95']:6.1f} ms   "
                  f"p99 {r['p99']:6.1f} ms   errors {r['errors']}")
        print(f"  task/static throughput: {best['task']['rps'] / best['static']['rps']:.2f}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        drop_pg_database(args.pg, name)


if __name__ == "__main__":
    main()
