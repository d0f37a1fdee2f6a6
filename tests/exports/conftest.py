"""A study with participants, homework, events, questionnaires and consents, for export tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hwtrial.models import ConsentRecord, Participant, Study
from tests.results.conftest import T0, generate, insert

SECRET_EMAIL = "alice.secret@example.org"


@pytest.fixture
def trial(app, load_study):
    """``reminder-rct`` with 60 generated participants (some withdrawn, some data-excluded),
    an email, external ids and consent records: returns ``(key, TrialData)``."""

    def make(name: str = "reminder-rct", n: int = 60, seed: int = 3):
        key = load_study(name)
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            study = session.scalar(sa.select(Study).where(Study.key == key))
            data = generate(study.id, study.definition, n=n, seed=seed)
            for inst in data.instances:  # whole seconds: SQL and pandas sum them exactly
                if inst["metrics"]:
                    inst["metrics"]["active_seconds"] = float(round(inst["metrics"]["active_seconds"]))
            insert(session, data)
            first = session.get(Participant, data.participants[0]["id"])
            first.email = SECRET_EMAIL
            for p in data.participants:
                session.add(ConsentRecord(participant_id=p["id"], version="v1", text_sha256="0" * 64,
                                          locale="en", method="web", consented_at=T0))
            session.commit()
        return key, data

    return make
