"""Factories for homework tests: enrol through the enrolment service, sign a participant in."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hwtrial.models import Allocation, HomeworkInstance, Participant, Study

STRATA = {
    "reminder-rct": {"site": "north", "severity": "mild"},
    "factorial-screening": {"severity": "mild", "prior_therapy": "no"},
}
HERE = Path(__file__).resolve().parent
STUDIES_DIR = HERE.parent.parent / "studies"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def db(app):
    return app.extensions["hwtrial"].db.session


@pytest.fixture
def load_test_study(app):
    """``load_test_study(name) -> key`` from ``tests/homework/studies/`` (activated)."""
    from hwtrial.services.loading import load_study_from_file

    def load(name: str) -> str:
        with app.app_context():
            study = load_study_from_file(db(app), "test", str(HERE / "studies" / f"{name}.yaml"), activate=True)
            db(app).commit()
            return study.key

    return load


@pytest.fixture
def enrol(app):
    """``enrol(study_key, arm=None, **fields) -> participant_id`` via :func:`services.enrolment.enrol`.

    ``arm`` overwrites the randomised arm afterwards: tests of arm-specific pages need a
    known arm, and the allocation itself is the enrolment engineer's to test.
    """
    from hwtrial.auth.principal import Principal
    from hwtrial.services import enrolment

    def make(study_key: str, arm: str | None = None, **fields) -> int:
        with app.app_context():
            session = db(app)
            study = session.scalar(sa.select(Study).where(Study.key == study_key))
            data = {"external_id": f"p-{uuid.uuid4().hex[:8]}", "strata": STRATA.get(study_key, {}), **fields}
            result = enrolment.enrol(session, Principal(role="coordinator"), study, data)
            participant = result.participant
            if arm is not None:
                session.scalar(sa.select(Allocation).where(
                    Allocation.participant_id == participant.id)).arm_key = arm
            session.commit()
            return participant.id

    return make


@pytest.fixture
def sign_in(app):
    """``sign_in(participant_id) -> test client`` holding a participant session cookie."""
    from hwtrial.services.sessions import open_session

    def make(participant_id: int):
        client = app.test_client()
        with app.app_context():
            session = db(app)
            secret = open_session(session, timedelta(days=1), participant=session.get(Participant, participant_id))
            session.commit()
        client.set_cookie("hwtrial_session", secret)
        return client

    return make


def csrf(client, url: str) -> str:
    """The CSRF token of the form on ``url`` (as a browser would read it)."""
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no form on {url} ({page.status_code})"
    return match.group(1)


@pytest.fixture
def instances(app):
    """``instances(participant_id) -> list of dicts`` of the participant's homework rows."""

    def read(participant_id: int) -> list[dict]:
        with app.app_context():
            rows = db(app).scalars(sa.select(HomeworkInstance).where(
                HomeworkInstance.participant_id == participant_id).order_by(HomeworkInstance.scheduled_at))
            return [{c.key: getattr(r, c.key) for c in HomeworkInstance.__table__.columns} for r in rows]

    return read


@pytest.fixture
def shift(app):
    """``shift(participant_id, hours)``: move a participant's enrolment and homework back in time,
    so the day-1 task is open now without freezing the clock of the whole app."""

    def move(participant_id: int, hours: float) -> None:
        delta = timedelta(hours=hours)
        with app.app_context():
            session = db(app)
            participant = session.get(Participant, participant_id)
            participant.enrolled_at -= delta
            for row in session.scalars(sa.select(HomeworkInstance).where(
                    HomeworkInstance.participant_id == participant_id)):
                for name in ("open_at", "scheduled_at", "due_at", "expire_at"):
                    setattr(row, name, getattr(row, name) - delta)
            session.commit()

    return move


@pytest.fixture
def shift_past(app, shift):
    """``shift_past(participant_id, column)``: shift until the first instance's ``open_at``,
    ``due_at`` or ``expire_at`` lies one hour in the past (independent of the time of day)."""
    from hwtrial.models import utcnow

    def move(participant_id: int, column: str = "open_at") -> None:
        with app.app_context():
            first = db(app).scalars(sa.select(HomeworkInstance).where(
                HomeworkInstance.participant_id == participant_id).order_by(HomeworkInstance.scheduled_at)).first()
            hours = (getattr(first, column) - utcnow()).total_seconds() / 3600 + 1
        shift(participant_id, hours)

    return move
