"""Benchmark: the results call vs a bare ``GROUP BY arm`` over the same tables (not a test).

Same database, same process, interleaved runs (best and median of ``--repeat``). The bare
aggregate is ``SELECT arm, count(*)`` over the study's events joined to the allocation log:
the least any analysis must pay to touch every event once. Peak memory of the results call
is measured in a fresh subprocess, with ``tracemalloc`` (Python heap) and
``resource.getrusage`` maxrss (whole process, incl. numpy/SQLite buffers). Make data with
``gen_study_data.py`` first; run from the repo root::

    .venv/bin/python tests/bench/bench_results.py --url sqlite:////tmp/bench.sqlite3
    .venv/bin/python tests/bench/bench_results.py \
        --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench

Per-arm tests on sufficient statistics against GrowthBook's gbstats are compared in
``bench_gbstats.py`` (engineer 1's script); this one times the whole service call.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

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


def child(url: str, key: str) -> None:
    """Fresh process: one results call under tracemalloc; print peak figures as JSON."""
    from hwtrial.services.results import build_results

    app = make_app(url)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        tracemalloc.start()
        build_results(session, None, key)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        session.close()
        app.extensions["hwtrial"].db.engine.dispose()
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"tracemalloc_peak_mb": peak / 2**20, "maxrss_mb": maxrss_kb / 1024}))


def memory(url: str, key: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--url", url, "--key", key, "--child"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    args = ap.parse_args()
    if args.child:
        return child(args.url, args.key)
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
    doc = runs[-1][2]["doc"]
    mem = memory(args.url, args.key)
    backend = sa.engine.make_url(normalise_database_url(args.url)).get_backend_name()
    print(f"{backend}: {n['participant']:,} participants, {n['homework_instance']:,} instances, "
          f"{n['event']:,} events")
    print(f"  bare GROUP BY arm over events: best {min(bare):.2f} s, median "
          f"{statistics.median(bare):.2f} s")
    print(f"  results call (all sections):   best {min(full):.2f} s, median "
          f"{statistics.median(full):.2f} s  -> ratio {min(full) / min(bare):.2f}x (best/best)")
    print(f"  peak memory of one results call: tracemalloc {mem['tracemalloc_peak_mb']:.0f} MB, "
          f"process maxrss {mem['maxrss_mb']:.0f} MB")
    statuses = {k: v["status"] for k, v in doc["sections"].items()}
    print(f"  sections: {statuses}")


if __name__ == "__main__":
    main()
