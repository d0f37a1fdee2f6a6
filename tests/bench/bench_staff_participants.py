"""Server time of the staff participant pages on a large study (a script, not a pytest test).

Generate the study first (``--scale 0.1``: 10,000 participants, 100,000 homework instances,
1,000,000 events, 50,000 questionnaire responses), then time each page through the whole
WSGI stack (policy, session, queries, template) as a coordinator and as a blinded
statistician::

    .venv/bin/python tests/bench/gen_study_data.py --url sqlite:////tmp/bench.sqlite3 --scale 0.1
    .venv/bin/python tests/bench/bench_staff_participants.py --url sqlite:////tmp/bench.sqlite3
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from hwtrial import create_app

PAGES = (
    ("list, page 1", "/staff/studies/{key}/participants"),
    ("list, page 100", "/staff/studies/{key}/participants?page=100"),
    ("list, withdrawn", "/staff/studies/{key}/participants?status=withdrawn"),
    ("list, search external id", "/staff/studies/{key}/participants?q=b777"),
    ("list, search P-id", "/staff/studies/{key}/participants?q=P-5000"),
    ("participant page", "/staff/studies/{key}/participants/5000"),
)


def signed_in_client(app, role: str):
    from hwtrial.services import sessions, users

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        user = users.create_user(session, "bench", email=f"bench-{role}-{time.time_ns()}@example.org", role=role)
        secret = sessions.open_session(session, timedelta(hours=1), user=user)
        session.commit()
    client = app.test_client()
    client.set_cookie("hwtrial_session", secret)
    return client


def timed(client, url: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, answer.status_code)
    times = sorted(times[1:])  # the first request warms caches (design, templates)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", default="bench-rct")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    app = create_app({"HWTRIAL_ENV": "testing", "HWTRIAL_DATABASE_URL": args.url,
                      "HWTRIAL_SECRET_KEY": "bench-secret-key-bench-secret-key-0123"})
    print(f"{'page':<28} {'role':<13} {'median ms':>10} {'p95 ms':>8}")
    for role in ("coordinator", "statistician"):
        client = signed_in_client(app, role)
        for name, url in PAGES:
            median, p95 = timed(client, url.format(key=args.key), args.repeat)
            print(f"{name:<28} {role:<13} {median:>10.1f} {p95:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
