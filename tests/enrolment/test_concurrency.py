"""Concurrency with real processes: gunicorn (4 workers), 64 client threads, a killed worker.

The negative control switches the allocation lock off and asserts the same harness then
finds problems, so a green run means the lock works, not that the harness is blind.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from hwtrial.config import normalise_database_url

from . import harness

pytestmark = pytest.mark.slow


def test_1500_enrolments_in_3_strata(fresh_database):
    tokens = harness.prepare(fresh_database)
    bodies = [harness.body(i) for i in range(1500)]
    with harness.Gunicorn(fresh_database) as server:
        outcomes = harness.enrol_all(server.base, tokens, bodies, threads=64)
    assert sum(o.status == 201 for o in outcomes) == 1500
    assert harness.check(fresh_database, outcomes) == []


def test_20_concurrent_requests_for_one_participant(fresh_database):
    tokens = harness.prepare(fresh_database)
    same = harness.body(7, prefix="twin")
    with harness.Gunicorn(fresh_database) as server:
        barrier = threading.Barrier(20)

        def post(i):  # a token each, so the token row does not serialise them for us
            barrier.wait()
            return requests.post(f"{server.base}/api/v1/studies/reminder-rct/participants",
                                 json=same, headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=60)

        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(post, range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201]
    assert len({r.text for r in responses}) == 1  # identical bodies
    engine = sa.create_engine(normalise_database_url(fresh_database))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hwtrial_allocation")).scalar() == 1
    engine.dispose()


def test_killed_worker_loses_nothing(fresh_database):
    tokens = harness.prepare(fresh_database)
    bodies = [harness.body(i) for i in range(600)]
    killed = []
    with harness.Gunicorn(fresh_database) as server:
        def progress(n):
            if n >= 150 and not killed:
                killed.append(server.kill_one_worker())

        outcomes = harness.enrol_all(server.base, tokens, bodies, threads=64, retry=True,
                                     on_progress=progress)
    assert killed, "no worker was killed"
    assert harness.check(fresh_database, outcomes) == []
    retried = [o for o in outcomes if o.attempts > 1]
    assert all(o.status in (200, 201) for o in retried)


def _drop_unique_constraints(database_url: str) -> None:
    """Throwaway database only: take away the constraints so races show as duplicates."""
    engine = sa.create_engine(normalise_database_url(database_url))
    with engine.begin() as conn:
        for name in ("uq_hwtrial_allocation_study_id_sequence_no",
                     "uq_hwtrial_allocation_study_id_stratum_key_block_no_position"):
            conn.exec_driver_sql(f"ALTER TABLE hwtrial_allocation DROP CONSTRAINT {name}")
    engine.dispose()


def test_negative_control_without_lock_finds_problems(fresh_database):
    tokens = harness.prepare(fresh_database)
    if fresh_database.startswith("postgresql"):
        _drop_unique_constraints(fresh_database)
    bodies = [harness.body(i, prefix="race") for i in range(300)]
    with harness.Gunicorn(fresh_database, HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK="1") as server:
        outcomes = harness.enrol_all(server.base, tokens, bodies, threads=64)
    problems = harness.check(fresh_database, outcomes)
    assert problems, "the harness found nothing with the lock switched off"
