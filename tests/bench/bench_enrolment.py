"""Enrolment throughput over HTTP against a bare one-INSERT Flask endpoint, same run.

Run: ``python tests/bench/bench_enrolment.py [N] [--pg URL]`` (not a pytest test; needs
PostgreSQL, default ``postgresql://postgres@127.0.0.1:5432/test`` as the server to create a
throwaway database on). Both servers are gunicorn with 4 workers on the same PostgreSQL
database; 64 client threads (requests, one keep-alive session per thread) send N requests.

- ``bare``: a Flask app whose one view parses the JSON body, INSERTs one row into a table
  of the same database in one transaction, and answers 201 with JSON.
- ``hwtrial``: ``POST /api/v1/studies/reminder-rct/participants`` (3 strata, permuted
  blocks): token check, validation, participant + consent + allocation + audit entry, one
  commit. One API token per client thread (see ``harness.prepare``).

The two runs are interleaved twice (bare, hwtrial, bare, hwtrial) so background load hits
both alike; the best run of each is reported with its error count. Goal: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from hwtrial.config import normalise_database_url  # noqa: E402
from tests.conftest import create_pg_database, drop_pg_database  # noqa: E402
from tests.enrolment import harness  # noqa: E402

BARE_TABLE = "bench_bare_insert"


def bare_app():
    """The baseline: one INSERT in one transaction per request (gunicorn factory)."""
    from flask import Flask, jsonify, request

    app = Flask(__name__)
    engine = sa.create_engine(normalise_database_url(os.environ["BENCH_DATABASE_URL"]),
                              pool_pre_ping=True)
    insert = sa.text(f"INSERT INTO {BARE_TABLE} (external_id, body) VALUES (:e, :b) RETURNING id")

    @app.post("/bare")
    def bare():
        body = request.get_json()
        with engine.begin() as conn:
            new_id = conn.execute(insert, {"e": body["external_id"], "b": str(body)}).scalar_one()
        return jsonify({"id": new_id, "external_id": body["external_id"]}), 201

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def run_bare(database_url: str, bodies: list[dict], threads: int) -> tuple[float, int]:
    port = harness.free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, "PYTHONPATH": str(REPO)}
    args = [str(harness.VENV_BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", "tests.bench.bench_enrolment:bare_app()"]
    proc = subprocess.Popen(args, env=env, cwd=REPO)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        return _blast(f"{base}/bare", bodies, threads, {})
    finally:
        proc.terminate()
        proc.wait()


def run_hwtrial(database_url: str, tokens: list[str], bodies: list[dict],
                threads: int) -> tuple[float, int, list]:
    with harness.Gunicorn(database_url) as server:
        start = time.perf_counter()
        outcomes = harness.enrol_all(server.base, tokens, bodies, threads=threads)
        elapsed = time.perf_counter() - start
    errors = sum(o.status != 201 for o in outcomes)
    return len(bodies) / elapsed, errors, outcomes


def _wait(base: str) -> None:
    for _ in range(150):
        try:
            if requests.get(base + "/healthz", timeout=5).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _blast(url: str, bodies: list[dict], threads: int, headers: dict) -> tuple[float, int]:
    local = threading.local()
    errors = []

    def one(body):
        if not hasattr(local, "http"):
            local.http = requests.Session()
        r = local.http.post(url, json=body, headers=headers, timeout=60)
        if r.status_code != 201:
            errors.append(r.status_code)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, bodies))
    return len(bodies) / (time.perf_counter() - start), len(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000)
    parser.add_argument("--pg", default=os.environ.get("HWTRIAL_TEST_DATABASE_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    name = f"hwtrial_bench_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(opts.pg, name)
    try:
        tokens = harness.prepare(url, tokens=opts.threads)
        engine = sa.create_engine(normalise_database_url(url))
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {BARE_TABLE} (id serial PRIMARY KEY, "
                                 "external_id text NOT NULL, body text NOT NULL)")
        engine.dispose()
        bare, hw, outcomes = [], [], []
        for r in range(opts.rounds):
            bodies = [harness.body(i, prefix=f"r{r}") for i in range(opts.n)]
            bare.append(run_bare(url, bodies, opts.threads))
            *result, seen = run_hwtrial(url, tokens, bodies, opts.threads)
            hw.append(tuple(result))
            outcomes += seen
            print(f"round {r + 1}: bare {bare[-1][0]:7.1f} req/s ({bare[-1][1]} errors)   "
                  f"hwtrial enrol {hw[-1][0]:7.1f} req/s ({hw[-1][1]} errors)")
        best_bare, best_hw = max(bare), max(hw)
        print(f"best: bare {best_bare[0]:.1f} req/s, hwtrial {best_hw[0]:.1f} req/s, "
              f"ratio {best_hw[0] / best_bare[0]:.2f} (goal >= 0.5); "
              f"errors bare {sum(e for _, e in bare)}, hwtrial {sum(e for _, e in hw)}")
        problems = harness.check(url, outcomes)
        print("invariants:", "ok" if not problems else problems)
    finally:
        drop_pg_database(opts.pg, name)


if __name__ == "__main__":
    main()
