"""Server time of the statistician's results page and the API's results document, cold and
warm, for a study with 10,000 participants (not a pytest test).

Run from the repo root (the data are ``bench_staff_pages``'s; ``--reuse`` keeps a database
that script or an earlier run of this one built, migrated to head)::

    .venv/bin/python tests/bench/bench_results_page.py --url sqlite:////tmp/bench-staff.sqlite3
    .venv/bin/python tests/bench/bench_results_page.py --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench_staff

Timed in process with the Flask test client (whole request: session lookup, policy, queries,
computation, plots, template), signed in as a statistician (blinded) for the page and with
a statistician's token for the API.

* first: nothing computed yet, in memory or in the database (the first view ever, or after
  a restart with an empty ``hwtrial_results_snapshot``): every aggregate query, every model
  fit, every plot, on the request;
* after a write: the data changed (one engagement event), this process's memory is empty and
  the database holds the previous computation: the page shows it at once with its notice
  and a background refresh recomputes (its time is printed as ``refresh``); the API always
  computes afresh, so its figure here is its cold cost;
* other process: memory empty, the database holds the current computation;
* warm: repeat views with the data unchanged (from memory).

Goal (issue 11): 300 ms at the server. Prints median and p95 of each.
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

import bench_staff_pages as staff  # noqa: E402
import gen_study_data as gen  # noqa: E402
import numpy as np  # noqa: E402

KEY = staff.KEY


def clients(app):
    from hwtrial.models import User
    from hwtrial.services import sessions, users

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        user = users.create_user(session, "bench", email=f"stat-{uuid.uuid4().hex[:8]}@example.org",
                                 role="statistician")
        token = users.issue_token(session, "bench", user).secret
        secret = sessions.open_session(session, timedelta(hours=2), user=session.get(User, user.id))
        session.commit()
    page = app.test_client()
    page.set_cookie("hwtrial_session", secret)
    return page, {"Authorization": f"Bearer {token}"}


def timed(client, url: str, headers: dict | None, before=None) -> float:
    if before is not None:
        before()
    started = time.perf_counter()
    answer = client.get(url, headers=headers or {})
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, (url, answer.status_code, answer.get_data(as_text=True)[:300])
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--scale", type=float, default=0.1, help="0.1: 10,000 participants")
    ap.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    ap.add_argument("--cold", type=int, default=5, help="cold requests of each")
    ap.add_argument("--warm", type=int, default=30, help="requests of each other kind")
    ap.add_argument("--inline-ms", type=int, default=500, help="HWTRIAL_RESULTS_INLINE_MS (the default)")
    args = ap.parse_args()
    import sqlalchemy as sa

    from hwtrial.models import Event, Participant, ResultsSnapshot, Study, utcnow
    from hwtrial.services import results_cache
    from tests.conftest import make_app, upgrade

    url = (gen.normalise_database_url(args.url) if args.reuse
           else staff.build(args.url, args.scale, gen.EVENTS_PER_INSTANCE))
    app = make_app(url, HWTRIAL_RESULTS_INLINE_MS=args.inline_ms)
    upgrade(app)
    page, token = clients(app)
    def first():
        results_cache.clear()
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            session.execute(sa.delete(ResultsSnapshot))
            session.commit()

    def write():
        results_cache.wait_background()
        results_cache.clear()
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            study = session.scalar(sa.select(Study).where(Study.key == KEY))
            person = session.scalar(sa.select(Participant.id).where(Participant.study_id == study.id).limit(1))
            session.add(Event(study_id=study.id, participant_id=person, client_event_id=uuid.uuid4().hex,
                              body_sha256="0" * 64, type="focus", client_time=utcnow()))
            session.commit()

    def other_process():
        results_cache.wait_background()
        results_cache.clear()

    def stats(times: list[float]) -> str:
        return f"{statistics.median(times):8.1f} {float(np.percentile(times, 95)):8.1f}"

    print(f"{'request':<28} {'first':>17} {'after a write':>17} {'other process':>17} {'warm':>17}"
          f"   median/p95 ms (first n={args.cold}, others n={args.warm})")
    for name, client, path, headers in (
            ("results page (statistician)", page, f"/staff/studies/{KEY}/results", None),
            ("API results (statistician)", app.test_client(), f"/api/v1/studies/{KEY}/results", token)):
        cold = [timed(client, path, headers, first) for _ in range(args.cold)]
        refreshes = results_cache.STATS["refreshes"]
        refresh_started = time.perf_counter()
        after = [timed(client, path, headers, write) for _ in range(args.warm)]
        results_cache.wait_background()
        refresh_s = time.perf_counter() - refresh_started - sum(after) / 1000
        done = results_cache.STATS["refreshes"] - refreshes
        other = [timed(client, path, headers, other_process) for _ in range(args.warm)]
        timed(client, path, headers)
        warm = [timed(client, path, headers) for _ in range(args.warm)]
        print(f"{name:<28} {stats(cold)} {stats(after)} {stats(other)} {stats(warm)}", flush=True)
        if done:
            print(f"{'':<28} background refreshes: {done}, about {refresh_s / args.warm:.2f} s of "
                  f"refresh per write (time not spent in requests)")
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()


if __name__ == "__main__":
    main()
