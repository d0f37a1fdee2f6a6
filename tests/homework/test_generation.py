"""Instance generation from the schedule, regeneration after an amendment, expiry, CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml

from hwtrial.models import HomeworkInstance, Participant, Study, utcnow
from hwtrial.services import homework
from hwtrial.studydef import load_study_data, load_study_text

from .conftest import STUDIES_DIR

ENROLLED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday afternoon


def participant(session, study, tz="America/New_York"):
    row = Participant(study_id=study.id, external_id=f"x-{tz}", timezone=tz, enrolled_at=ENROLLED)
    session.add(row)
    session.flush()
    return row


def rows(session, pid):
    return session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                           .order_by(HomeworkInstance.scheduled_at)).all()


def test_instances_follow_the_local_schedule_and_are_idempotent(app, session, load_study):
    load_study("reminder-rct")
    study = session.scalar(sa.select(Study))
    person = participant(session, study)
    counts = homework.generate_instances(session, person, study.definition, ENROLLED)
    assert counts == {"created": 12, "updated": 0, "kept": 0}
    first = rows(session, person.id)[0]
    # day 1 at 19:00 New York (EST, UTC-5) = 00:00 UTC on 4 March; open 2 h before, due 48 h after
    assert first.scheduled_at == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert first.open_at == first.scheduled_at - timedelta(hours=2)
    assert first.due_at - first.scheduled_at == timedelta(hours=48) and first.state == "scheduled"
    # after the DST change (8 March) 19:00 local is 23:00 UTC
    assert rows(session, person.id)[3].scheduled_at.hour == 23
    assert homework.generate_instances(session, person, study.definition, ENROLLED) == {
        "created": 0, "updated": 0, "kept": 12}


def test_amendment_adds_slots_moves_unopened_and_keeps_started(app, session, load_study):
    load_study("reminder-rct")
    study = session.scalar(sa.select(Study))
    person = participant(session, study)
    person.enrolled_at = utcnow()  # amend() re-plans at the real "now"
    homework.generate_instances(session, person, study.definition, person.enrolled_at)
    started, unopened = rows(session, person.id)[:2]
    started.state, started.started_at, started.draft = "started", ENROLLED, {"situation": "x"}
    before = (started.scheduled_at, started.due_at)
    raw = yaml.safe_load((STUDIES_DIR / "reminder-rct.yaml").read_text())
    raw["homework"]["schedule"][0].update(time="08:00", repeat={"every_days": 3, "count": 14})
    from hwtrial.services import studies

    studies.amend(session, "test", study, load_study_data(raw, "amended"), "morning slots")
    after = rows(session, person.id)
    assert len(after) == 14
    assert (started.scheduled_at, started.due_at, started.draft) == (*before, {"situation": "x"})
    assert unopened.scheduled_at.astimezone(ZoneInfo("America/New_York")).hour == 8  # moved
    assert unopened.state == "scheduled"


def test_withdrawn_participants_and_expired_slots_get_nothing(app, session, load_study):
    load_study("reminder-rct")
    study = session.scalar(sa.select(Study))
    gone = participant(session, study, tz="UTC")
    gone.status = "withdrawn"
    assert homework.generate_instances(session, gone, study.definition, ENROLLED)["created"] == 0
    late = participant(session, study, tz="Europe/Madrid")
    counts = homework.generate_instances(session, late, study.definition, ENROLLED + timedelta(days=10))
    assert counts["created"] == 10  # slots that already expired ten days in are not created


def test_lazy_and_periodic_expiry(app, session, load_study, runner):
    load_study("reminder-rct")
    study = session.scalar(sa.select(Study))
    person = participant(session, study)
    homework.generate_instances(session, person, study.definition, ENROLLED)
    session.commit()
    first = rows(session, person.id)[0]
    assert homework.refresh_state(first, first.expire_at - timedelta(seconds=1)) == "scheduled"
    assert homework.refresh_state(first, first.expire_at) == "expired"
    assert first.expired_at == first.expire_at
    session.rollback()  # lazy expiry is only written by the request that saw it
    when = (ENROLLED + timedelta(days=9)).isoformat()
    result = runner.invoke(args=["hwtrial", "homework", "expire", "--now", when])
    assert result.exit_code == 0, result.output
    assert "expired 2 homework instance(s)" in result.output
    again = runner.invoke(args=["hwtrial", "homework", "expire", "--now", when])
    assert "expired 0" in again.output
    assert runner.invoke(args=["hwtrial", "homework", "expire", "--now", "2026-03-01T00:00"]).exit_code != 0


def test_metrics_cli_recomputes_submitted_instances(app, session, load_study, runner):
    load_study("reminder-rct")
    study = session.scalar(sa.select(Study))
    person = participant(session, study)
    homework.generate_instances(session, person, study.definition, ENROLLED)
    first = rows(session, person.id)[0]
    first.state, first.submission, first.metrics = "submitted", {"situation": "one two three"}, None
    session.commit()
    result = runner.invoke(args=["hwtrial", "homework", "metrics", "reminder-rct"])
    assert result.exit_code == 0 and "recomputed metrics of 1" in result.output
    session.expire_all()
    assert rows(session, person.id)[0].metrics["words"] == 3


def test_definition_helpers_accept_a_study_definition(app, session, load_study):
    load_study("reminder-rct")
    study = session.scalar(sa.select(Study))
    text = (STUDIES_DIR / "reminder-rct.yaml").read_text()
    person = participant(session, study)
    assert homework.generate_instances(session, person, load_study_text(text, "x"), ENROLLED)["created"] == 12
