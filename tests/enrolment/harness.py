"""Load-test helpers: a prepared database, a real gunicorn, many client threads, invariant checks.

The checks read the database directly, so they judge what was stored, not what the service
says about itself: one allocation per enrolment, no duplicate positions or sequence numbers,
running counts equal to the log, every completed block balanced, every 201 stored as seen.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from hwtrial.config import normalise_database_url

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SECRET = "load-test-secret-key-not-for-production"
CONSENT = {"version": "2.1", "method": "api", "locale": "en"}
SITES = ("north", "south", "online")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWTRIAL_")}
    env.update(HWTRIAL_ENV="testing", HWTRIAL_SECRET_KEY=SECRET, HWTRIAL_DATABASE_URL=database_url,
               HWTRIAL_STUDIES_DIR=str(REPO / "studies"), PYTHONPATH=str(REPO), **extra)
    return env


def prepare(database_url: str, study: str = "reminder-rct", tokens: int = 64) -> list[str]:
    """Migrate, load and activate ``study``, create a coordinator; return ``tokens`` API tokens.

    One token per client thread: every request writes its token's ``last_used_at``, and that
    row lock (held to commit) would serialise all requests of one token, hiding races.
    """
    from hwtrial.services import users
    from hwtrial.services.loading import load_study_from_file
    from tests.conftest import STUDIES, make_app, upgrade

    app = make_app(database_url, HWTRIAL_SECRET_KEY=SECRET)
    upgrade(app)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        user = users.create_user(session, "load", email="load@test.example", role="coordinator")
        secrets = [users.issue_token(session, "load", user).secret for _ in range(tokens)]
        load_study_from_file(session, "load", str(STUDIES / f"{study}.yaml"), activate=True)
        session.commit()
        app.extensions["hwtrial"].db.engine.dispose()
    return secrets


class Gunicorn:
    """``gunicorn -w N 'hwtrial:create_app()'`` on a free port; a context manager."""

    def __init__(self, database_url: str, workers: int = 4, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                     "--graceful-timeout", "2", "--log-level", "warning", "hwtrial:create_app()"]
        self.env = server_env(database_url, **env)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=REPO)
        deadline = time.monotonic() + 120  # four workers import numpy, scipy, pandas: 39 s measured on 2 busy cores
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not come up")

    def workers(self) -> list[int]:
        """PIDs of the worker processes (children of the master)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def kill_one_worker(self) -> int:
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def body(i: int, prefix: str = "p") -> dict:
    """Enrolment body number ``i``: three strata (sites) at one severity."""
    return {"external_id": f"{prefix}-{i}", "strata": {"site": SITES[i % 3], "severity": "mild"},
            "consent": CONSENT}


@dataclass
class Outcome:
    """What one client saw for one enrolment (after retries)."""

    external_id: str
    status: int | None = None
    body: dict | None = None
    attempts: int = 0
    #: Every (status, arm) answer, including the lost ones before a retry.
    answers: list[tuple[int, str | None]] = field(default_factory=list)
    error: str | None = None


def enrol_all(base: str, tokens: list[str], bodies: list[dict], threads: int = 64, retry: bool = False,
              study: str = "reminder-rct", on_progress=None) -> list[Outcome]:
    """POST every body from ``threads`` threads; with ``retry``, repeat on connection errors and 5xx."""
    local = threading.local()
    url = f"{base}/api/v1/studies/{study}/participants"
    done = Counter()
    lock = threading.Lock()

    def one(payload: dict) -> Outcome:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            with lock:
                done["threads"] += 1
                token = tokens[(done["threads"] - 1) % len(tokens)]
            local.headers = {"Authorization": f"Bearer {token}"}
        headers = local.headers
        out = Outcome(payload["external_id"])
        for _ in range(20 if retry else 1):
            out.attempts += 1
            try:
                r = local.http.post(url, json=payload, headers=headers, timeout=60)
            except requests.RequestException as error:
                out.error, out.status = repr(error), None
                local.http = requests.Session()
                local.http.headers.update(headers)
                time.sleep(0.05)
                continue
            out.status, out.body, out.error = r.status_code, r.json(), None
            out.answers.append((r.status_code, out.body.get("arm")))
            if r.status_code < 500:
                break
            time.sleep(0.05)
        with lock:
            done["n"] += 1
            n = done["n"]
        if on_progress:
            on_progress(n)
        return out

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, bodies))


def check(database_url: str, outcomes: list[Outcome], study: str = "reminder-rct") -> list[str]:
    """Every invariant the allocation must keep; an empty list means all hold."""
    engine = sa.create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as conn:
            return _check(conn, outcomes, study)
    finally:
        engine.dispose()


def _rows(conn, sql: str, **params):
    return conn.execute(sa.text(sql), params).all()


def _check(conn, outcomes, study) -> list[str]:
    problems = []
    errors = [o for o in outcomes if o.status not in (200, 201)]
    if errors:
        sample = errors[0].error or (errors[0].status, errors[0].body)
        problems.append(f"{len(errors)} enrolments failed, e.g. {sample}")
    study_id = _rows(conn, "SELECT id FROM hwtrial_study WHERE key = :k", k=study)[0][0]
    allocs = _rows(conn, "SELECT a.sequence_no, a.stratum_key, a.block_no, a.position, a.arm_key,"
                   " p.external_id FROM hwtrial_allocation a JOIN hwtrial_participant p"
                   " ON p.id = a.participant_id WHERE a.study_id = :s", s=study_id)
    n_participants = _rows(conn, "SELECT count(*) FROM hwtrial_participant WHERE study_id = :s",
                           s=study_id)[0][0]
    ok = sum(o.status in (200, 201) for o in outcomes)
    if len(allocs) != n_participants or len(allocs) != ok:
        problems.append(f"{len(allocs)} allocations, {n_participants} participants, {ok} successes")
    problems += _duplicates(allocs)
    problems += _state_matches_log(conn, study_id, allocs)
    problems += _blocks_balanced(conn, study_id, allocs)
    stored = {a.external_id: a.arm_key for a in allocs}
    for o in outcomes:  # every 201 (and every replay) a client saw is what is stored
        for status, arm in o.answers:
            if status in (200, 201) and arm != stored.get(o.external_id):
                problems.append(f"{o.external_id}: answered {status} {arm}, stored {stored.get(o.external_id)}")
    return problems


def _duplicates(allocs) -> list[str]:
    problems = []
    positions = Counter((a.stratum_key, a.block_no, a.position) for a in allocs)
    dup = [k for k, n in positions.items() if n > 1]
    if dup:
        problems.append(f"{len(dup)} duplicate block positions, e.g. {dup[0]}")
    seqs = Counter(a.sequence_no for a in allocs)
    if any(n > 1 for n in seqs.values()) or sorted(seqs) != list(range(1, len(seqs) + 1)):
        problems.append("sequence_no is not 1..n without duplicates")
    return problems


def _state_matches_log(conn, study_id, allocs) -> list[str]:
    """Running counts (never recomputed by the service) must equal a count of the log."""
    problems = []
    per_stratum = defaultdict(Counter)
    for a in allocs:
        per_stratum[a.stratum_key][a.arm_key] += 1
    import json

    for key, n, counts in _rows(conn, "SELECT stratum_key, n_allocated, counts FROM "
                                "hwtrial_allocation_state WHERE study_id = :s", s=study_id):
        arms = json.loads(counts).get("arms", {})
        expected = (Counter(a.arm_key for a in allocs) if key == "*" else per_stratum[key])
        if n != sum(expected.values()) or Counter(arms) != expected:
            problems.append(f"lost update in state {key!r}: n={n}, counts={arms}, log={dict(expected)}")
    return problems


def _blocks_balanced(conn, study_id, allocs) -> list[str]:
    """Every block before a stratum's current block is complete and holds each arm equally."""
    problems = []
    current = dict(_rows(conn, "SELECT stratum_key, block_no FROM hwtrial_allocation_state "
                         "WHERE study_id = :s", s=study_id))
    n_arms = len({a.arm_key for a in allocs})
    blocks = defaultdict(list)
    for a in allocs:
        if a.block_no is not None:
            blocks[(a.stratum_key, a.block_no)].append(a)
    for (stratum, block_no), members in sorted(blocks.items()):
        if block_no >= (current.get(stratum) or 0):
            continue
        arms = Counter(m.arm_key for m in members)
        positions = sorted(m.position for m in members)
        if len(arms) != n_arms or len(set(arms.values())) != 1 or positions != list(range(len(members))):
            problems.append(f"block {block_no} of {stratum} unbalanced or incomplete: {dict(arms)}")
    return problems
