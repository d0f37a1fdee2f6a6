"""Micro-randomised reminders: every decision point is logged when its time comes (available or
why not, probability, treated, local time, study day), the draw replays from the stored seed,
treated points get their reminder at a real SMTP server and the log records the send."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hwtrial.models import DecisionPoint, HomeworkInstance, Study
from hwtrial.randomisation.micro import decide
from hwtrial.randomisation.seeds import micro_rng
from hwtrial.reminders.worker import run_pass
from hwtrial.services.loading import load_study_from_file
from tests.homework.conftest import db

REPO = Path(__file__).resolve().parents[2]
CONSENT = {"version": "1.0", "method": "web", "locale": "en"}


@pytest.fixture
def app_config(smtp_server):
    _, port = smtp_server
    return {"HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": port}


@pytest.fixture
def mrt(app, tmp_path):
    text = (REPO / "studies" / "mrt-reminders.yaml").read_text().replace("channels: [webhook]", "channels: [email]")
    path = tmp_path / "mrt.yaml"
    path.write_text(text)
    with app.app_context():
        load_study_from_file(db(app), "test", str(path), activate=True)
        db(app).commit()
    return "mrt-reminders"


def decisions(app, pid):
    with app.app_context():
        return db(app).scalars(sa.select(DecisionPoint).where(DecisionPoint.participant_id == pid)
                               .order_by(DecisionPoint.point_index)).all()


def test_each_point_is_decided_once_logged_and_replayable(app, mrt, enrol, smtp_server):
    mailbox, _ = smtp_server
    pid = enrol(mrt, consent=CONSENT, timezone="Europe/Madrid", email="p@home.example")
    with app.app_context():
        enrolled = db(app).scalar(sa.select(HomeworkInstance.open_at).where(HomeworkInstance.participant_id == pid)
                                  .order_by(HomeworkInstance.open_at))
        seed = int(db(app).scalar(sa.select(Study.allocation_seed)))
    now = enrolled
    for _ in range(4 * 24 * 4):  # four days, a pass every 15 minutes
        run_pass(app, now)
        now += timedelta(minutes=15)
    points = decisions(app, pid)
    assert len(points) == len({p.point_index for p in points}) >= 9
    assert all(p.probability == 0.6 and p.study_day == p.point_index // 3 for p in points)
    assert {p.local_time[11:16] for p in points} <= {"09:00", "13:00", "19:30"}
    for point in points:
        if point.available:
            assert point.unavailable_reason is None
            expected = decide(0.6, True, rng=micro_rng(seed, str(pid), point.point_index)).treated
            assert point.treated is expected
        else:
            assert point.treated is None and point.unavailable_reason in {"daily_maximum", "no_open_task"}
    per_day = {}
    for point in points:
        per_day[point.study_day] = per_day.get(point.study_day, 0) + bool(point.treated)
    assert max(per_day.values()) <= 2  # availability.max_per_day
    treated = [p for p in points if p.treated]
    assert len(mailbox.messages) == len(treated) and all(p.sent_at is not None for p in treated)
    # sent = handed to SMTP, delivered = the server's 250 (after it), never before the decision
    assert all(p.decided_at <= p.sent_at <= p.delivered_at for p in treated)
    assert all(p.sent_at is None and p.delivered_at is None for p in points if not p.treated)
    from hwtrial.services.results_data import decision_point_rows

    with app.app_context():
        frame = decision_point_rows(db(app), db(app).scalar(sa.select(Study)))
    assert frame["sent"].sum() == frame["delivered"].sum() == len(treated) and frame["clicked"].sum() == 0


def test_completed_day_and_a_worker_outage_make_points_unavailable(app, mrt, enrol, smtp_server):
    pid = enrol(mrt, consent=CONSENT, timezone="UTC", email="p@home.example")
    with app.app_context():
        tasks = db(app).scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                                .order_by(HomeworkInstance.open_at)).all()
        task = tasks[1]  # a whole day after enrolment
        day_start = task.open_at.replace(hour=8, minute=30)
        task.state, task.submitted_at = "submitted", day_start
        db(app).commit()
    run_pass(app, day_start.replace(hour=8, minute=50))
    run_pass(app, day_start.replace(hour=9, minute=1))
    run_pass(app, day_start.replace(hour=13, minute=1))
    that_day = [p for p in decisions(app, pid) if p.local_time.startswith(day_start.date().isoformat())]
    assert [(p.local_time[11:16], p.unavailable_reason) for p in that_day] == [
        ("09:00", "completed_today"), ("13:00", "completed_today")]
    run_pass(app, day_start + timedelta(days=1, hours=12))  # nobody ran the worker for a day
    # points of the enrolment day itself depend on the hour the test runs; look from that day on
    later = [p for p in decisions(app, pid) if p.local_time[:10] >= day_start.date().isoformat()]
    missed = [p for p in later if p.unavailable_reason == "missed"]
    assert [p.local_time[11:16] for p in missed] == ["19:30", "09:00", "13:00", "19:30"]
    assert all(p.treated is None for p in missed)
