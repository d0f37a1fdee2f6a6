"""Generate a large two-arm study for the results benchmark (not a pytest test).

At ``--scale 1``: 100,000 participants, 1,000,000 homework instances, 10,000,000 events and
500,000 questionnaire responses in a study ``bench-rct`` (the reminder-rct definition).
PostgreSQL rows go in by ``COPY`` (psycopg), SQLite rows by ``executemany`` in large
transactions. The database is created fresh and migrated first. Run from the repo root::

    .venv/bin/python tests/bench/gen_study_data.py --url sqlite:////tmp/bench.sqlite3 --scale 0.1
    .venv/bin/python tests/bench/gen_study_data.py \
        --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench --scale 1
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from hwtrial import create_app
from hwtrial.config import normalise_database_url
from hwtrial.models.homework import METRIC_COLUMNS
from hwtrial.studydef import load_study_data, load_study_file

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
SLOTS, EVENTS_PER_INSTANCE, CHUNK = 10, 10, 50_000
TIMEPOINTS = (("phq9", "baseline", 0), ("gad7", "baseline", 0), ("phq9", "week4", 28),
              ("phq9", "week8", 56), ("gad7", "week8", 56))


def fresh_database(url: str) -> str:
    """Delete the SQLite file or (re)create the PostgreSQL database; return the app URL."""
    url = normalise_database_url(url)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).unlink(missing_ok=True)
        return url
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()
    return url


def create_study(url: str, key: str) -> tuple[int, dict]:
    from flask_migrate import upgrade

    from hwtrial.services import studies

    app = create_app({"HWTRIAL_ENV": "testing", "HWTRIAL_DATABASE_URL": url})
    with app.app_context():
        upgrade(directory=app.config["HWTRIAL_MIGRATIONS_DIR"])
        session = app.extensions["hwtrial"].db.session
        data = load_study_file(str(REPO / "studies" / "reminder-rct.yaml")).data
        study = studies.create_study(session, "bench", load_study_data({**data, "key": key}))
        studies.transition(session, "bench", study, "active")
        session.commit()
        out = study.id, study.definition
        app.extensions["hwtrial"].db.engine.dispose()
    return out


def ts(seconds: np.ndarray) -> list[str]:
    base = np.datetime64(T0.replace(tzinfo=None), "us")
    text = np.datetime_as_string(base + seconds.astype("timedelta64[s]"), unit="us")
    return np.char.replace(text, "T", " ").tolist()  # SQLAlchemy's SQLite storage format


def participants(rng, sid: int, n: int) -> dict[str, list]:
    ids = np.arange(1, n + 1)
    site = rng.choice(["north", "south", "online"], n)
    sev = rng.choice(["mild", "moderate", "severe"], n)
    arm = np.where(rng.random(n) < 0.5, "control", "reminders")
    return {"id": ids, "arm": arm, "strata": [json.dumps({"severity": v, "site": s}, separators=(",", ":"))
                                              for s, v in zip(site, sev, strict=True)],
            "status": np.where(rng.random(n) < 0.05, "withdrawn", "active"),
            "exclude": rng.random(n) < 0.02, "sid": sid}


def instance_chunk(rng, sid: int, pids: np.ndarray, arms: np.ndarray, first_id: int):
    """Rows of SLOTS instances per participant in ``pids`` (column lists)."""
    n = len(pids) * SLOTS
    pid = np.repeat(pids, SLOTS)
    slot = np.tile(np.arange(SLOTS), len(pids))
    p_done = np.where(np.repeat(arms, SLOTS) == "reminders", 0.7, 0.5)
    done = rng.random(n) < p_done
    late = done & (rng.random(n) < 0.2)
    due = (slot * 3 + 3) * 86400
    values = [{"active_seconds": round(float(a), 1), "edits": int(e), "words": int(w),
               "self_review_depth": int(d)} if ok else None
              for ok, a, e, w, d in zip(done, rng.gamma(2, 150, n), rng.poisson(5, n),
                                        rng.poisson(60, n), rng.integers(0, 4, n), strict=True)]
    metrics = [json.dumps(v, separators=(",", ":")) if v else None for v in values]
    # the column copies HomeworkInstance.set_metrics stores next to the JSON
    columns = [tuple((v or {}).get(k) for k in METRIC_COLUMNS) for v in values]
    sub = ts(due + np.where(late, 3600, -7200))
    return {"id": np.arange(first_id, first_id + n), "sid": sid, "pid": pid,
            "slot": [f"s{s}" for s in slot], "state": np.where(done, "submitted", "expired"),
            "open": ts(due - 172800), "due": ts(due), "expire": ts(due + 86400),
            "submitted": [s if ok else None for s, ok in zip(sub, done, strict=True)],
            "late": late, "metrics": metrics, "columns": columns}


def response_rows(rng, sid: int, pids: np.ndarray, arms: np.ndarray, first_id: int):
    rows, base = [], rng.normal(14, 4, len(pids))
    effect = np.where(arms == "reminders", 2.0, 0.0)
    for inst, tp, day in TIMEPOINTS:
        keep = rng.random(len(pids)) < (1.0 if day == 0 else 0.85)
        total = np.clip(np.round(base - day / 28 - effect * (day > 0) + rng.normal(0, 3, len(pids))), 0, 27)
        for p, t in zip(pids[keep], total[keep], strict=True):
            rows.append((first_id + len(rows), sid, int(p), inst, tp, "{}", float(t)))
    return rows


class Writer:
    """Bulk rows into one database: PostgreSQL COPY, SQLite executemany."""

    def __init__(self, url: str):
        parsed = sa.engine.make_url(url)
        self.pg = parsed.get_backend_name() == "postgresql"
        if self.pg:
            import psycopg

            self.conn = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(
                hide_password=False))
        else:
            self.conn = sqlite3.connect(parsed.database)
            self.conn.execute("PRAGMA synchronous = OFF")

    def time(self, value: str | None) -> str | None:
        return None if value is None or not self.pg else value + "+00"

    def rows(self, table: str, columns: str, rows) -> None:
        if self.pg:
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
        else:
            marks = ", ".join("?" * len(columns.split(",")))
            self.conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        self.conn.commit()

    def close(self) -> None:
        if self.pg:  # VACUUM sets the visibility map: index-only scans, as in production
            self.conn.autocommit = True
            self.conn.execute("VACUUM ANALYZE")
        else:
            self.conn.execute("ANALYZE")
            self.conn.commit()
        self.conn.close()


def _t(w: Writer, values):
    return [w.time(v) for v in values] if w.pg else values


def write_people(w: Writer, p: dict, now: str) -> None:
    n = len(p["id"])
    w.rows("hwtrial_participant", "id, study_id, external_id, strata, timezone, status, "
           "exclude_data, enrolled_at, source, source_info, link_generation",
           ((int(i), p["sid"], f"b{i}", s, "UTC", st, bool(x), now, "api", "{}", 0)
            for i, s, st, x in zip(p["id"], p["strata"], p["status"], p["exclude"], strict=True)))
    w.rows("hwtrial_allocation", "id, study_id, participant_id, sequence_no, arm_key, method, "
           "probability, stratum_key, study_version, diagnostics, allocated_at",
           ((int(i), p["sid"], int(i), int(i), a, "bench", 0.5, "*", 1, "{}", now)
            for i, a in zip(p["id"], p["arm"], strict=True)))
    print(f"  {n:,} participants and allocations", flush=True)


def write_homework(w: Writer, rng, p: dict, now: str,
                   k: int = EVENTS_PER_INSTANCE) -> None:
    per_chunk, inst_id, ev_id = CHUNK // SLOTS * 10, 1, 0
    types = ["opened", "focus", "field_changed", "field_changed", "blur", "focus",
             "field_changed", "draft_saved", "submitted", "self_review_answered"]
    for start in range(0, len(p["id"]), per_chunk):
        pids, arms = p["id"][start:start + per_chunk], p["arm"][start:start + per_chunk]
        c = instance_chunk(rng, p["sid"], pids, arms, inst_id)
        opens = _t(w, c["open"])
        w.rows("hwtrial_homework_instance", "id, study_id, participant_id, template_key, "
               "slot_key, origin, state, open_at, scheduled_at, due_at, expire_at, submitted_at, "
               f"late, metrics, created_at, {', '.join(METRIC_COLUMNS)}",
               ((int(i), c["sid"], int(pp), "thought_record", s, "schedule", st, o, o, d, e, sub,
                 bool(lt), m, now, *mc)
                for i, pp, s, st, o, d, e, sub, lt, m, mc in zip(
                    c["id"], c["pid"], c["slot"], c["state"], opens, _t(w, c["due"]),
                    _t(w, c["expire"]), _t(w, c["submitted"]), c["late"], c["metrics"],
                    c["columns"], strict=True)))
        w.rows("hwtrial_event", "study_id, participant_id, instance_id, client_event_id, "
               "body_sha256, type, client_time, server_time",
               ((c["sid"], int(pp), int(i), f"e{ev_id + j}", "0" * 64, types[j % len(types)], o, o)
                for j, (pp, i, o) in enumerate(zip(np.repeat(c["pid"], k), np.repeat(c["id"], k),
                                                   np.repeat(np.asarray(opens), k), strict=True))))
        inst_id += len(c["id"])
        ev_id += len(c["id"]) * k
        print(f"  {inst_id - 1:,} instances, {ev_id:,} events", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--key", default="bench-rct")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events-per-instance", type=int, default=EVENTS_PER_INSTANCE,
                    help="more events at the same participants: memory must not grow")
    args = ap.parse_args()
    url = fresh_database(args.url)
    sid, _ = create_study(url, args.key)
    rng = np.random.default_rng(args.seed)
    n = int(round(100_000 * args.scale))
    started = time.perf_counter()
    w = Writer(url)
    now = w.time(T0.strftime("%Y-%m-%d %H:%M:%S.%f")) if w.pg else T0.strftime(
        "%Y-%m-%d %H:%M:%S.%f")
    p = participants(rng, sid, n)
    write_people(w, p, now)
    write_homework(w, rng, p, now, args.events_per_instance)
    responses = response_rows(rng, sid, p["id"], p["arm"], 1)
    w.rows("hwtrial_questionnaire_response", "id, study_id, participant_id, instrument_key, "
           "timepoint_key, answers, total, prorated, n_missing, in_window, submitted_at",
           (r + (False, 0, True, now) for r in responses))
    w.close()
    print(f"{n:,} participants, {n * SLOTS:,} instances, {n * SLOTS * args.events_per_instance:,} "
          f"events, {len(responses):,} responses in {time.perf_counter() - started:.0f} s: {url}")


if __name__ == "__main__":
    main()
