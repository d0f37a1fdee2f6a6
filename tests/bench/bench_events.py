"""Event ingest throughput: hwtrial's idempotent batch ingest vs a raw ``executemany``.

Run: ``python tests/bench/bench_events.py [--events 50000] [--pg postgresql://postgres@127.0.0.1:5432/test]``
(not a pytest test; PostgreSQL is skipped when no URL is given and ``HWTRIAL_TEST_DATABASE_URL``
is unset). Each backend gets a fresh, migrated database with one study and 20 participants.

Columns, all in batches of 500 events, one transaction per batch, same database, same run:

* ``raw``: DBAPI ``cursor.executemany`` of pre-built tuples into ``hwtrial_event`` (no
  checks, no idempotency) - the floor the goal is stated against;
* ``service``: :func:`hwtrial.services.events.ingest` (validation, ownership checks, body
  hashes, one INSERT … ON CONFLICT DO NOTHING / INSERT OR IGNORE, one SELECT of the ids) + commit;
* ``http``: the same through the Flask test client (JSON, bearer-token auth, route policy,
  schema), i.e. everything but the socket;
* ``replay``: the ``service`` batches sent again (every id already stored).

Raw and hwtrial runs are interleaved (raw, service, http, replay per repeat) and the best of
``--repeats`` is reported, as ``timeit`` does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

BATCH = 500


def build_app(url: str):
    from tests.conftest import make_app, upgrade

    app = make_app(url)
    upgrade(app)
    return app


def setup_study(app):
    """Study, 20 participants and a coordinator token; returns (study_id, participant ids, token)."""
    from hwtrial.models import Participant
    from hwtrial.services import users
    from hwtrial.services.loading import load_study_from_file

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        study = load_study_from_file(session, "bench", "studies/reminder-rct.yaml", activate=True)
        people = [Participant(study_id=study.id, external_id=f"b{i}") for i in range(20)]
        session.add_all(people)
        user = users.create_user(session, "bench", email="bench@example.org", role="coordinator")
        token = users.issue_token(session, "bench", user).secret
        session.commit()
        return study.id, [p.id for p in people], token


def make_events(tag: str, n: int, pids: list[int]) -> list[dict]:
    base = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    return [{"id": f"{tag}-{i}", "participant": pids[i % len(pids)], "type": "field_changed",
             "client_time": (base + timedelta(milliseconds=i)).isoformat(), "payload": {"field": "situation"}}
            for i in range(n)]


def raw_rows(events: list[dict], study_id: int, sqlite: bool) -> list[tuple]:
    import json

    now = datetime.now(UTC)
    rows = []
    for e in events:
        t = datetime.fromisoformat(e["client_time"])
        rows.append((study_id, e["participant"], None, e["id"], "0" * 64, e["type"],
                     t.replace(tzinfo=None) if sqlite else t, now.replace(tzinfo=None) if sqlite else now,
                     json.dumps(e["payload"])))
    return rows


def run_raw(app, rows: list[tuple], sqlite: bool) -> float:
    mark = "?" if sqlite else "%s"
    sql = ("INSERT INTO hwtrial_event (study_id, participant_id, instance_id, client_event_id, body_sha256, "
           f"type, client_time, server_time, payload) VALUES ({', '.join([mark] * 9)})")
    with app.app_context():
        engine = app.extensions["hwtrial"].db.engine
        connection = engine.raw_connection()
        try:
            start = time.perf_counter()
            for i in range(0, len(rows), BATCH):
                cursor = connection.cursor()
                if sqlite:  # hwtrial's SQLite connections autocommit; BEGIN as the app does
                    cursor.execute("BEGIN IMMEDIATE")
                cursor.executemany(sql, rows[i:i + BATCH])
                connection.commit()
            return time.perf_counter() - start
        finally:
            connection.close()


def run_service(app, study_id: int, events: list[dict]) -> float:
    from hwtrial.auth.principal import Principal
    from hwtrial.models import Study, utcnow
    from hwtrial.services.events import ingest

    principal = Principal(role="coordinator")
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        start = time.perf_counter()
        for i in range(0, len(events), BATCH):
            study = session.get(Study, study_id)
            ingest(session, principal, study, events[i:i + BATCH], utcnow())
            session.commit()
        return time.perf_counter() - start


def run_http(app, token: str, events: list[dict]) -> float:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    for i in range(0, len(events), BATCH):
        answer = client.post("/api/v1/studies/reminder-rct/events", json={"events": events[i:i + BATCH]},
                             headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return time.perf_counter() - start


def bench(name: str, url: str, n: int, repeats: int) -> None:
    app = build_app(url)
    study_id, pids, token = setup_study(app)
    sqlite = url.startswith("sqlite")
    best = {"raw": float("inf"), "service": float("inf"), "http": float("inf"), "replay": float("inf")}
    for _ in range(repeats):
        tag = uuid.uuid4().hex[:6]
        rows = raw_rows(make_events(f"raw{tag}", n, pids), study_id, sqlite)
        best["raw"] = min(best["raw"], run_raw(app, rows, sqlite))
        service_events = make_events(f"svc{tag}", n, pids)
        best["service"] = min(best["service"], run_service(app, study_id, service_events))
        best["http"] = min(best["http"], run_http(app, token, make_events(f"http{tag}", n, pids)))
        best["replay"] = min(best["replay"], run_service(app, study_id, service_events))
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()
    raw_rate = n / best["raw"]
    print(f"{name:10s} {n} events, batches of {BATCH}, best of {repeats}")
    for key in ("raw", "service", "http", "replay"):
        rate = n / best[key]
        print(f"  {key:8s} {rate:10,.0f} events/s   {rate / raw_rate:5.2f} x raw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("HWTRIAL_TEST_DATABASE_URL"))
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory() as tmp:
        bench("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.events, args.repeats)
    if args.pg:
        from tests.conftest import create_pg_database, drop_pg_database

        name = f"hwtrial_bench_{uuid.uuid4().hex[:8]}"
        try:
            bench("postgresql", create_pg_database(args.pg, name), args.events, args.repeats)
        finally:
            drop_pg_database(args.pg, name)


if __name__ == "__main__":
    main()
