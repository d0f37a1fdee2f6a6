"""Benchmark: the results call vs a bare ``GROUP BY arm`` over the same tables (not a test).

Same database, same process, interleaved runs (best and median of ``--repeat``). The bare
aggregate is ``SELECT arm, count(*)`` over the study's events joined to the allocation log:
the least any analysis must pay to touch every event once. Peak memory of the results call
is measured in fresh subprocesses that have imported everything and connected: the growth
of the peak RSS (``VmHWM``, whole process incl. numpy and driver buffers) over that
baseline, and in a second process the ``tracemalloc`` peak (Python heap). Make data with
``gen_study_data.py`` first and migrate it to head (0003's covering index serves the homework
aggregate by index-only scan once the table is vacuumed; autovacuum does that in service).
On PostgreSQL the results call runs its big aggregates on parallel connections, so it
needs free cores: the load average is printed, and a ratio taken while other processes
hold the cores overstates the call's cost. Run from the repo root::

    .venv/bin/python tests/bench/bench_results.py --url sqlite:////tmp/bench.sqlite3
    .venv/bin/python tests/bench/bench_results.py \
        --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench

Per-arm tests on sufficient statistics against GrowthBook's gbstats are compared in
``bench_gbstats.py`` (engineer 1's script); this one times the whole service call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

from hwtrial import create_app
from hwtrial.config import normalise_database_url

BARE = ("SELECT a.arm_key, COUNT(*) FROM hwtrial_event e "
        "JOIN hwtrial_allocation a ON a.participant_id = e.participant_id "
        "WHERE e.study_id = :sid GROUP BY a.arm_key")


def make_app(url: str):
    return create_app({"HWTRIAL_ENV": "testing",
                       "HWTRIAL_DATABASE_URL": normalise_database_url(url)})


def timed(func) -> tuple[float, object]:
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def run_once(session, key: str, sid: int) -> tuple[float, float, dict]:
    from hwtrial.services.results import build_results

    bare, counts = timed(lambda: session.execute(sa.text(BARE), {"sid": sid}).all())
    session.rollback()
    full, doc = timed(lambda: build_results(session, None, key))
    session.rollback()
    return bare, full, {"bare_counts": dict(counts), "doc": doc}


def _proc_status_mb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def child(url: str, key: str, trace: bool) -> None:
    """Fresh process: import everything, connect, then one results call; print JSON.

    ``getrusage`` maxrss is no use here: Linux carries the parent's peak across
    ``fork``/``exec``, so a child started after the timing runs reports the parent's peak.
    ``/proc/self/status`` ``VmHWM`` belongs to this process; writing 5 to ``clear_refs``
    resets it after imports, so the peak is the call's own. ``trace`` measures the Python
    heap peak with ``tracemalloc`` instead (its bookkeeping inflates RSS: separate runs).
    """
    from hwtrial.services.results import build_results

    app = make_app(url)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        session.execute(sa.text("SELECT 1")).all()
        session.rollback()
        imports = _proc_status_mb("VmHWM")
        before = _proc_status_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        if trace:
            tracemalloc.start()
        build_results(session, None, key)
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        tracemalloc.stop()
        rss_peak = _proc_status_mb("VmHWM")
        session.close()
        app.extensions["hwtrial"].db.engine.dispose()
    print(json.dumps({"tracemalloc_peak_mb": peak, "imports_hwm_mb": imports,
                      "rss_before_mb": before, "rss_peak_mb": rss_peak}))


def memory(url: str, key: str) -> dict:
    out = {}
    for flag in ("--child", "--child-trace"):
        run = subprocess.run([sys.executable, __file__, "--url", url, "--key", key, flag],
                             capture_output=True, text=True, check=True)
        got = json.loads(run.stdout.strip().splitlines()[-1])
        out.update({k: v for k, v in got.items() if v is not None} if flag == "--child"
                   else {"tracemalloc_peak_mb": got["tracemalloc_peak_mb"]})
    return out


def sizes(session, sid: int) -> dict:
    q = "SELECT COUNT(*) FROM {} WHERE study_id = :sid"
    return {t: session.execute(sa.text(q.format(f"hwtrial_{t}")), {"sid": sid}).scalar()
            for t in ("participant", "homework_instance", "event")}


def main() -> None:
    ap = argparse.ArgumentParser(description="results call vs bare GROUP BY arm")
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", default="bench-rct")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child or args.child_trace:
        return child(args.url, args.key, trace=args.child_trace)
    load_before = os.getloadavg()[0]
    app = make_app(args.url)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        sid = session.execute(sa.text("SELECT id FROM hwtrial_study WHERE key = :k"),
                              {"k": args.key}).scalar_one()
        n = sizes(session, sid)
        runs = [run_once(session, args.key, sid) for _ in range(args.repeat)]
        session.close()
        app.extensions["hwtrial"].db.engine.dispose()
    bare = [r[0] for r in runs]
    full = [r[1] for r in runs]
    load_after = os.getloadavg()[0]
    doc = runs[-1][2]["doc"]
    mem = memory(args.url, args.key)
    backend = sa.engine.make_url(normalise_database_url(args.url)).get_backend_name()
    print(f"{backend}: {n['participant']:,} participants, {n['homework_instance']:,} instances, "
          f"{n['event']:,} events; {os.cpu_count()} CPUs, 1-min load average "
          f"{load_before:.1f} before / {load_after:.1f} after the timing runs")
    print(f"  bare GROUP BY arm over events: best {min(bare):.2f} s, median "
          f"{statistics.median(bare):.2f} s")
    print(f"  results call (all sections):   best {min(full):.2f} s, median "
          f"{statistics.median(full):.2f} s  -> ratio {min(full) / min(bare):.2f}x (best/best)")
    print(f"  memory of one results call: Python heap peak (tracemalloc) "
          f"{mem['tracemalloc_peak_mb']:.0f} MB; process peak RSS {mem['rss_peak_mb']:.0f} MB "
          f"= {mem['rss_before_mb']:.0f} MB after imports and connect + "
          f"{mem['rss_peak_mb'] - mem['rss_before_mb']:.0f} MB growth")
    statuses = {k: v["status"] for k, v in doc["sections"].items()}
    print(f"  sections: {statuses}")


if __name__ == "__main__":
    main()
