"""Server time of the statistician's results page and the API's results document, cold and
warm, for a study with 10,000 participants (not a pytest test).

Run from the repo root (the data are ``bench_staff_pages``'s; ``--reuse`` keeps a database
that script or an earlier run of this one built, migrated to head)::

    .venv/bin/python tests/bench/bench_results_page.py --url sqlite:////tmp/bench-staff.sqlite3
    .venv/bin/python tests/bench/bench_results_page.py --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench_staff

Timed in process with the Flask test client (whole request: session lookup, policy, queries,
computation, plots, template), signed in as a statistician (blinded) for the page and with
a statistician's token for the API.

* cold: the results cache emptied before each request (what the first view after a write
  costs: every aggregate query, every model fit, every plot);
* warm: repeat views with the data unchanged (the study's data stamp is read, the computed
  document and report parts come from :mod:`hwtrial.services.results_cache`).

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
    ap.add_argument("--warm", type=int, default=30, help="warm requests of each")
    args = ap.parse_args()
    from hwtrial.services import results_cache
    from tests.conftest import make_app, upgrade

    url = (gen.normalise_database_url(args.url) if args.reuse
           else staff.build(args.url, args.scale, gen.EVENTS_PER_INSTANCE))
    app = make_app(url)
    upgrade(app)
    page, token = clients(app)
    print(f"{'request':<28} {'cold median':>11} {'cold p95':>9} {'warm median':>12} {'warm p95':>9}"
          f"  (ms; cold n={args.cold}, warm n={args.warm})")
    for name, client, path, headers in (
            ("results page (statistician)", page, f"/staff/studies/{KEY}/results", None),
            ("API results (statistician)", app.test_client(), f"/api/v1/studies/{KEY}/results", token)):
        cold = [timed(client, path, headers, results_cache.clear) for _ in range(args.cold)]
        timed(client, path, headers)
        warm = [timed(client, path, headers) for _ in range(args.warm)]
        print(f"{name:<28} {statistics.median(cold):11.1f} {float(np.percentile(cold, 95)):9.1f} "
              f"{statistics.median(warm):12.1f} {float(np.percentile(warm, 95)):9.1f}", flush=True)
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()


if __name__ == "__main__":
    main()
