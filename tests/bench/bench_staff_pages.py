"""Server time of the staff pages for a study with 10,000 participants (not a pytest test).

Run from the repo root::

    .venv/bin/python tests/bench/bench_staff_pages.py --url sqlite:////tmp/bench-staff.sqlite3
    .venv/bin/python tests/bench/bench_staff_pages.py --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench_staff

Data: ``gen_study_data`` at ``--scale 0.1`` (10,000 participants in ``bench-rct``, 100,000
homework instances, 1,000,000 events, about 45,000 questionnaire responses), plus 10,000 audit
entries (one per participant, as enrolment writes them) and a few hundred outbox messages
(sent, failed and dead) so the delivery-health part has rows. The database is created afresh.

Pages, each requested ``--repeat`` times by a signed-in coordinator through the Flask test
client (the time is the whole request in the server process: session lookup, policy, queries,
plots, template): the study list, the study page, the audit log page. The first request of the
study page draws its plots (reported as ``cold``); later ones reuse them while the data is
unchanged. Goal: median and p95 under 300 ms each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

import gen_study_data as gen  # noqa: E402
import numpy as np  # noqa: E402

KEY = "bench-rct"
PAGES = (("study list", "/staff/studies"), ("study page", f"/staff/studies/{KEY}"),
         ("audit log", "/staff/audit"), ("audit log, filtered", f"/staff/audit?study={KEY}&action=participant.enrol&page=3"))


def build(url: str, scale: float, events: int) -> str:
    url = gen.fresh_database(url)
    sid, _ = gen.create_study(url, KEY)
    rng = np.random.default_rng(1)
    n = int(round(100_000 * scale))
    w = gen.Writer(url)
    now = gen.T0.strftime("%Y-%m-%d %H:%M:%S.%f")
    now = w.time(now) if w.pg else now
    people = gen.participants(rng, sid, n)
    # Enrolment spread over 120 days (the generator enrols everyone at T0).
    days = rng.integers(0, 120, n)
    gen.write_people(w, people, now)
    shift = "enrolled_at + make_interval(days => %s)" if w.pg else "datetime(enrolled_at, '+' || ? || ' days')"
    rows = [(int(d), int(i)) for d, i in zip(days, people["id"], strict=True)]
    if w.pg:
        with w.conn.cursor() as cur:
            cur.executemany(f"UPDATE hwtrial_participant SET enrolled_at = {shift} WHERE id = %s", rows)
    else:
        w.conn.executemany(f"UPDATE hwtrial_participant SET enrolled_at = {shift} WHERE id = ?", rows)
    w.conn.commit()
    gen.write_homework(w, rng, people, now, events)
    responses = gen.response_rows(rng, sid, people["id"], people["arm"], 1)
    w.rows("hwtrial_questionnaire_response", "id, study_id, participant_id, instrument_key, "
           "timepoint_key, answers, total, prorated, n_missing, in_window, submitted_at",
           (r + (False, 0, True, now) for r in responses))
    states = ["sent"] * 300 + ["dead"] * 12 + ["pending"] * 30
    w.rows("hwtrial_outbox", "dedupe_key, channel, payload, due_at, attempts, last_error, created_at, status, "
           "study_id, participant_id",
           ((f"bench-{i}", "email", '{"kind":"reminder"}', now, 5 if s == "dead" or i % 2 else 0,
             "550 mailbox unavailable" if s == "dead" or (s == "pending" and i % 2) else None, now, s, sid,
             int(people["id"][i])) for i, s in enumerate(states)))
    w.close()
    return url


def add_audit_entries(app, n: int) -> None:
    from hwtrial.services import audit

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        for i in range(1, n + 1):
            audit.record(session, actor="host-app", action="participant.enrol", target=f"participant:{i}",
                         study_key=KEY, after={"external_id": f"b{i}"})
        session.commit()


def signed_in_client(app):
    from hwtrial.models import User
    from hwtrial.services import sessions, users

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        user = users.create_user(session, "bench", email=f"bench-{uuid.uuid4().hex[:8]}@example.org", role="coordinator")
        secret = sessions.open_session(session, timedelta(hours=2), user=session.get(User, user.id))
        session.commit()
    client = app.test_client()
    client.set_cookie("hwtrial_session", secret)
    return client


def measure(client, url: str, repeat: int) -> tuple[float, list[float]]:
    def once() -> float:
        started = time.perf_counter()
        answer = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, (url, answer.status_code, answer.get_data(as_text=True)[:300])
        return elapsed

    cold = once()
    return cold, [once() for _ in range(repeat)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--scale", type=float, default=0.1, help="0.1: 10,000 participants")
    ap.add_argument("--events-per-instance", type=int, default=gen.EVENTS_PER_INSTANCE)
    ap.add_argument("--audit-entries", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    args = ap.parse_args()
    from tests.conftest import make_app

    started = time.perf_counter()
    url = gen.normalise_database_url(args.url) if args.reuse else build(args.url, args.scale,
                                                                           args.events_per_instance)
    app = make_app(url)
    if not args.reuse:
        add_audit_entries(app, args.audit_entries)
    print(f"data ready in {time.perf_counter() - started:.0f} s ({url.split('://')[0]})", flush=True)
    client = signed_in_client(app)
    print(f"{'page':<22} {'cold ms':>8} {'median ms':>10} {'p95 ms':>8}  (n={args.repeat})")
    for name, path in PAGES:
        cold, times = measure(client, path, args.repeat)
        p95 = float(np.percentile(times, 95))
        print(f"{name:<22} {cold:8.1f} {statistics.median(times):10.1f} {p95:8.1f}", flush=True)
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()


if __name__ == "__main__":
    main()
