"""Feature flags with first exposure, withdrawal, the host-app call and the demo participant."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hwtrial.models import FeatureExposure, HomeworkInstance, Participant, Study, utcnow
from hwtrial.services import withdrawal

from .helpers import rct


@pytest.fixture
def coord(make_user, bearer):
    return bearer(make_user("coordinator")[1])


def test_features_record_first_exposure_once(client, load_study, coord, session):
    load_study("reminder-rct")
    p = rct(client, coord).json
    url = f"/api/v1/studies/reminder-rct/participants/{p['id']}/features"
    first = client.get(url, headers=coord)
    assert first.status_code == 200 and first.json == p["features"]
    stamps = dict(session.execute(sa.select(FeatureExposure.feature, FeatureExposure.first_exposed_at)).all())
    assert set(stamps) == {"reminders", "self_review", "framing", "extra"}
    session.rollback()
    assert client.get(url, headers=coord).status_code == 200
    again = dict(session.execute(sa.select(FeatureExposure.feature, FeatureExposure.first_exposed_at)).all())
    assert again == stamps


def test_host_app_python_call(app, client, load_study, coord):
    load_study("reminder-rct")
    p = rct(client, coord, "host-7").json
    with app.app_context():
        ext = app.extensions["hwtrial"]
        from hwtrial.extension import HWTrial

        assert HWTrial().features_for("reminder-rct", "host-7") == p["features"]
        assert HWTrial().features_for("reminder-rct", p["id"]) == p["features"]
        count = ext.db.session.scalar(sa.select(sa.func.count()).select_from(FeatureExposure))
        assert count == 4


def _add_instances(session, participant_id, study_id):
    now = utcnow()
    for i, state in enumerate(["submitted", "started", "scheduled"]):
        session.add(HomeworkInstance(
            study_id=study_id, participant_id=participant_id, template_key="t", slot_key=f"s{i}",
            state=state, open_at=now, scheduled_at=now, due_at=now + timedelta(days=i + 1),
            expire_at=now + timedelta(days=i + 2)))
    session.commit()


def test_coordinator_withdrawal_keeps_allocation(client, load_study, coord, session):
    load_study("reminder-rct")
    p = rct(client, coord).json
    study_id = session.scalar(sa.select(Study.id))
    session.query(HomeworkInstance).filter_by(participant_id=p["id"]).delete()
    _add_instances(session, p["id"], study_id)
    url = f"/api/v1/studies/reminder-rct/participants/{p['id']}/withdraw"
    assert client.post(url, json={"reason": ""}, headers=coord).status_code == 422
    r = client.post(url, json={"reason": "moved away"}, headers=coord)
    assert r.status_code == 200 and r.json["status"] == "withdrawn" and r.json["arm"] == p["arm"]
    states = dict(session.execute(sa.select(HomeworkInstance.slot_key, HomeworkInstance.state)).all())
    assert states == {"s0": "submitted", "s1": "expired", "s2": "expired"}
    participant = session.get(Participant, p["id"])
    assert participant.exclude_data is False and participant.allocation is not None
    assert client.post(url, json={"reason": "again"}, headers=coord).status_code == 409
    more = client.post(url, json={"reason": "data too", "data_use_withdrawn": True}, headers=coord)
    assert more.status_code == 200
    session.expire_all()
    assert session.get(Participant, p["id"]).exclude_data is True


def test_self_withdrawal_with_data_use(client, load_study, coord, session):
    load_study("reminder-rct")
    p = rct(client, coord).json
    participant = session.get(Participant, p["id"])
    withdrawal.self_withdraw(session, participant, reason="no time", data_use_withdrawn=True)
    session.commit()
    assert (participant.status, participant.exclude_data) == ("withdrawn", True)


def test_demo_enrolment_link(app, load_study, session):
    from hwtrial.services.enrolment import demo_enrolment

    load_study("therapist-cluster")
    study = session.scalar(sa.select(Study))
    link = demo_enrolment(session, study, "http://demo.example")
    session.commit()
    assert link.startswith("http://demo.example/p/start?token=")


def test_withdrawn_participant_has_no_active_features(client, load_study, coord, session):
    """Regression: host apps kept reminding withdrawn participants (features still answered)."""
    load_study("reminder-rct")
    p = rct(client, coord).json
    base = f"/api/v1/studies/reminder-rct/participants/{p['id']}"
    assert client.post(base + "/withdraw", json={"reason": "asked to"}, headers=coord).status_code == 200
    answer = client.get(base + "/features", headers=coord)
    assert answer.status_code == 200 and answer.json == {"status": "withdrawn"}
    assert session.scalar(sa.select(sa.func.count()).select_from(FeatureExposure)) == 0
