"""The results cache: a repeat view with unchanged data is served from the cache (byte for
byte what a fresh computation gives), and every write that can change results — ORM
changes, bulk statements, events — makes the next view compute afresh. Both backends."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from hwtrial.models import Event, HomeworkInstance, Participant, Study, utcnow
from hwtrial.services import results_cache
from hwtrial.services.report import build_report
from hwtrial.services.results import build_results

URL = "/api/v1/studies/{}/results"
KEY = "reminder-rct"


def db(app):
    return app.extensions["hwtrial"].db.session


def stats():
    return dict(results_cache.STATS)


def fetch(client, headers) -> bytes:
    answer = client.get(URL.format(KEY), headers=headers)
    assert answer.status_code == 200
    return answer.get_data()


def version(app) -> int:
    with app.app_context():
        return db(app).scalar(sa.select(Study.data_version).where(Study.key == KEY))


def fresh(client, headers) -> bytes:
    results_cache.clear()
    return fetch(client, headers)


def test_repeat_is_a_hit_and_equals_a_fresh_computation(app, client, make_trial, make_user, bearer):
    make_trial(KEY, n=80)
    headers = bearer(make_user("statistician")[1])
    first = fresh(client, headers)
    before = stats()
    again = fetch(client, headers)
    assert stats()["hits"] == before["hits"] + 1 and stats()["misses"] == before["misses"]
    assert again == first == fresh(client, headers)
    # the staff results page (through the report) and the API share the document
    with app.app_context():
        before = stats()
        report = build_report(db(app), None, KEY)
        assert stats()["misses"] == before["misses"] + 2  # unblinded document + report parts
        assert build_results(db(app), None, KEY) == report.results
        assert stats()["hits"] == before["hits"] + 1


def test_every_kind_of_write_invalidates(app, client, make_trial, make_user, bearer):
    make_trial(KEY, n=80)
    headers = bearer(make_user("coordinator")[1])
    body = fresh(client, headers)
    with app.app_context():
        session = db(app)
        pid = session.scalar(sa.select(Participant.id).where(Participant.status == "active").order_by(Participant.id))
        iid = session.scalar(sa.select(HomeworkInstance.id).where(HomeworkInstance.participant_id == pid,
                                                                  HomeworkInstance.state == "expired"))
        study_id = session.scalar(sa.select(Study.id).where(Study.key == KEY))

    def changed(write) -> bytes:
        nonlocal body
        start = version(app)
        with app.app_context():
            write(db(app))
            db(app).commit()
        before = stats()
        got = fetch(client, headers)
        assert stats()["misses"] == before["misses"] + 1, "a write must make the next view compute"
        assert got == fresh(client, headers)  # and what it computed is the current truth
        body = got
        return version(app) - start

    # ORM change of a column the results read: homework submitted
    def submit(session):
        row = session.get(HomeworkInstance, iid)
        row.state, row.submitted_at, row.late = "submitted", utcnow(), False
    assert changed(submit) == 1
    # ORM change of a participant: withdrawal with data use withdrawn
    def withdraw(session):
        person = session.get(Participant, pid)
        person.status, person.withdrawn_at, person.exclude_data = "withdrawn", utcnow(), True
    assert changed(withdraw) == 1
    # a bulk statement through the session (as expiry and withdrawal run)
    assert changed(lambda s: s.execute(sa.update(HomeworkInstance).where(HomeworkInstance.id == iid)
                                       .values(state="expired", submitted_at=None))) >= 1
    # an event: no counter (hot path), the highest event id moves instead
    assert changed(lambda s: s.add(Event(study_id=study_id, participant_id=pid, client_event_id="cache-test",
                                         body_sha256="0" * 64, type="focus", client_time=utcnow()))) == 0
    # a change the results do not read (an autosaved draft) keeps the cache
    start = version(app)
    with app.app_context():
        db(app).get(HomeworkInstance, iid).draft = {"situation": "typing"}
        db(app).commit()
    assert version(app) == start
    before = stats()
    assert fetch(client, headers) == body and stats()["hits"] == before["hits"] + 1


def test_a_transaction_that_wrote_neither_reads_nor_fills_the_cache(app, make_trial):
    make_trial(KEY, n=60)
    with app.app_context():
        session = db(app)
        results_cache.clear()
        clean = build_results(session, None, KEY)
        session.commit()
        person = session.scalar(sa.select(Participant).where(Participant.status == "active"))
        person.status, person.withdrawn_at, person.exclude_data = "withdrawn", utcnow() - timedelta(days=1), True
        session.flush()
        before = stats()
        inside = build_results(session, None, KEY)
        assert stats() == before  # computed, not looked up, not stored
        assert json.dumps(inside, sort_keys=True) != json.dumps(clean, sort_keys=True)
        session.rollback()
        before = stats()
        assert build_results(session, None, KEY) == clean
        assert stats()["hits"] == before["hits"] + 1
