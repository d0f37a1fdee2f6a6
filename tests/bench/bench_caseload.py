"""Therapist workspace pages at the server, for a study with 10,000 participants.

Run: ``python tests/bench/bench_caseload.py [--n 10000] [--pg postgresql://postgres@127.0.0.1:5432/test]``
(not a pytest test; SQLite in a temporary file unless ``--pg`` is given, when a throwaway
database is created and dropped).

Data: ``tests/results`` synthetic trial of reminder-rct (8 homework slots per participant,
questionnaires, events); 60 participants belong to the therapist. Timed in process with the
Flask test client (server time, no network), 20 requests each after 3 warm-ups, median and max:
the therapist's caseload, a coordinator's "everyone" (first 500 of 10,000), one client's page,
their review page and their trajectory (three plots). Goal: under 300 ms each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--pg")
    args = parser.parse_args()
    import sqlalchemy as sa

    from hwtrial.models import HomeworkInstance, Participant, Study, User
    from hwtrial.services import sessions, users
    from hwtrial.services.loading import load_study_from_file
    from tests.conftest import STUDIES, create_pg_database, drop_pg_database, make_app, upgrade
    from tests.results.conftest import generate, insert

    name = f"hwtrial_bench_caseload_{uuid.uuid4().hex[:6]}"
    url = create_pg_database(args.pg, name) if args.pg else f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = make_app(url)
    upgrade(app)
    try:
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            study = load_study_from_file(session, "bench", str(STUDIES / "reminder-rct.yaml"), activate=True)
            therapist = users.create_user(session, "bench", email="t@bench.example", role="therapist")
            coordinator = users.create_user(session, "bench", email="c@bench.example", role="coordinator")
            session.commit()
            data = generate(study.id, study.definition, n=args.n, seed=1)
            for row in data.instances:
                row["template_key"] = "thought_record"
            for person in data.participants[:60]:
                person["therapist_id"] = therapist.id
            started = time.perf_counter()
            insert(session, data)
            print(f"inserted {args.n} participants in {time.perf_counter() - started:.1f} s")
            client_id = session.scalar(sa.select(Participant.id).where(Participant.therapist_id == therapist.id)
                                       .order_by(Participant.id))
            instance_id = session.scalar(sa.select(HomeworkInstance.id).where(
                HomeworkInstance.participant_id == client_id).order_by(HomeworkInstance.id))
            cookies = {role: sessions.open_session(session, timedelta(hours=1), user=session.get(User, uid))
                       for role, uid in (("therapist", therapist.id), ("coordinator", coordinator.id))}
            assert session.scalar(sa.select(sa.func.count()).select_from(Study)) == 1
            session.commit()
        client = app.test_client()
        pages = [("therapist", "/staff/caseload"), ("coordinator", "/staff/caseload"),
                 ("therapist", f"/staff/caseload/clients/{client_id}"),
                 ("therapist", f"/staff/caseload/homework/{instance_id}"),
                 ("therapist", f"/staff/caseload/clients/{client_id}/trajectory")]
        for role, path in pages:
            client.set_cookie("hwtrial_session", cookies[role])
            times = []
            for i in range(23):
                started = time.perf_counter()
                answer = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert answer.status_code == 200, (path, answer.status_code)
                if i >= 3:
                    times.append(elapsed)
            print(f"{role:12} {path:45} median {statistics.median(times):6.1f} ms   max {max(times):6.1f} ms")
    finally:
        with app.app_context():
            app.extensions["hwtrial"].db.engine.dispose()
        if args.pg:
            drop_pg_database(args.pg, name)


if __name__ == "__main__":
    main()
