"""Events API: idempotent batches, conflicting ids, limits, ownership, one INSERT + one SELECT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hwtrial.models import Event, FeatureExposure

from .conftest import db

URL = "/api/v1/studies/reminder-rct/events"
CONSENT = {"version": "2.1", "locale": "en"}


def events(pid, n, *, start=0, instance=None, kind="field_changed"):
    base = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    out = []
    for i in range(start, start + n):
        event = {"id": f"e-{pid}-{i}", "participant": pid, "type": kind,
                 "client_time": (base + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                 "payload": {"field": "situation"}}
        if instance is not None:
            event["instance"] = instance
        out.append(event)
    return out


@pytest.fixture
def host(app, load_study, make_user, bearer):
    load_study("reminder-rct")
    return bearer(make_user("coordinator")[1])


def stored(app):
    with app.app_context():
        return db(app).scalars(sa.select(Event).order_by(Event.client_event_id)).all()


def test_batch_is_stored_and_a_replay_answers_the_same(app, client, host, enrol):
    pid = enrol("reminder-rct")
    batch = events(pid, 50)
    first = client.post(URL, json={"events": batch}, headers=host)
    assert first.status_code == 200 and first.json["accepted"] == 50
    replay = client.post(URL, json={"events": list(reversed(batch))}, headers=host)
    assert replay.status_code == 200 and replay.json["accepted"] == 50
    assert sorted(replay.json["ids"]) == sorted(first.json["ids"])
    rows = stored(app)
    assert len(rows) == 50 and {r.participant_id for r in rows} == {pid}
    assert all(r.server_time is not None and r.client_time.tzinfo is not None for r in rows)


def test_reused_id_with_another_body_is_refused_naming_the_id(app, client, host, enrol):
    pid = enrol("reminder-rct")
    batch = events(pid, 3)
    assert client.post(URL, json={"events": batch}, headers=host).status_code == 200
    changed = [*events(pid, 2, start=10), {**batch[1], "type": "blur"}]
    answer = client.post(URL, json={"events": changed}, headers=host)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"events[2].id": [f"id 'e-{pid}-1' was already used for a different event"]}
    assert len(stored(app)) == 3  # the whole batch was refused
    twice = [batch[0], {**batch[0], "payload": {"field": "emotion"}}]
    assert client.post(URL, json={"events": twice}, headers=host).status_code == 422


def test_limits_and_field_errors(client, host, enrol):
    pid = enrol("reminder-rct")
    assert client.post(URL, json={"events": events(pid, 1001)}, headers=host).status_code == 413
    assert client.post(URL, json={"events": events(pid, 1000)}, headers=host).status_code == 200
    bad = [{"id": "", "type": "dance", "client_time": "2026-03-01T09:00:00", "colour": 1}]
    answer = client.post(URL, json={"events": bad}, headers=host)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"events[0].id", "events[0].type", "events[0].client_time",
                                          "events[0].colour"}
    missing = client.post(URL, json={"events": [{k: v for k, v in events(pid, 1)[0].items()
                                                 if k != "participant"}]}, headers=host)
    assert missing.status_code == 422 and "events[0].participant" in missing.json["errors"]


def test_out_of_order_and_late_batches_are_accepted(app, client, host, enrol):
    pid = enrol("reminder-rct")
    late = events(pid, 5, start=100)
    early = events(pid, 5, start=0)  # sent after, happened before (offline client)
    assert client.post(URL, json={"events": late}, headers=host).status_code == 200
    assert client.post(URL, json={"events": early}, headers=host).status_code == 200
    assert len(stored(app)) == 10


def test_participants_post_only_their_own_events(app, client, host, enrol, sign_in, instances):
    pid, other = enrol("reminder-rct", consent=CONSENT), enrol("reminder-rct")
    own_instance = instances(pid)[0]["id"]
    their_instance = instances(other)[0]["id"]
    browser = sign_in(pid)
    browser.environ_base["HTTP_X_CSRF_TOKEN"] = page_token(browser)  # as participant.js sends it
    mine = [{k: v for k, v in e.items() if k != "participant"} for e in events(pid, 3, instance=own_instance)]
    assert browser.post(URL, json={"events": mine}).status_code == 200
    assert {r.participant_id for r in stored(app)} == {pid}
    # the explicit own id is the same event as the omitted one (replay, not conflict)
    assert browser.post(URL, json={"events": [{**mine[0], "participant": pid}]}).status_code == 200
    theirs = events(other, 1, start=50)
    assert browser.post(URL, json={"events": theirs}).status_code == 403
    wrong_instance = [{**mine[0], "id": "x-1", "instance": their_instance}]
    assert browser.post(URL, json={"events": wrong_instance}).status_code == 422
    assert client.post(URL, json={"events": mine}).status_code == 401  # nobody signed in


def test_feature_exposure_is_noted_once(app, client, host, enrol):
    pid = enrol("reminder-rct")
    batch = events(pid, 3, kind="feature_exposed")
    for event in batch:
        event["payload"] = {"feature": "reminders"}
    assert client.post(URL, json={"events": batch}, headers=host).status_code == 200
    with app.app_context():
        rows = db(app).scalars(sa.select(FeatureExposure)).all()
        assert [(r.participant_id, r.feature, r.channel) for r in rows] == [(pid, "reminders", "web")]


def test_ingest_is_one_insert_and_one_select_of_ids(app, client, host, enrol):
    """Statement count does not grow with the batch: no query per event."""
    pid = enrol("reminder-rct")
    seen: list[str] = []
    rows_sent: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "hwtrial_event" in statement:
            seen.append(statement.split()[0].upper())
            if statement.startswith("INSERT") and "unnest(" in statement:  # PostgreSQL: arrays
                rows_sent.append(len(next(iter(parameters.values()))))
            elif statement.startswith("INSERT"):  # SQLite: a VALUES list
                rows_sent.append(statement.count("), (") + 1)

    with app.app_context():
        engine = app.extensions["hwtrial"].db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for size in (10, 500):
            seen.clear()
            batch = events(pid, size, start=size * 10)
            assert client.post(URL, json={"events": batch}, headers=host).status_code == 200
            # one multi-row INSERT … RETURNING; every id was new, so nothing to compare
            assert (seen.count("INSERT"), seen.count("SELECT")) == (1, 0)
            assert rows_sent[-1] == size  # all rows in a single statement, not executemany
            seen.clear()
            assert client.post(URL, json={"events": batch}, headers=host).status_code == 200
            assert (seen.count("INSERT"), seen.count("SELECT")) == (1, 1)  # replay: one SELECT
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_events_of_withdrawn_participants_are_refused(app, client, host, enrol):
    """Regression: events were stored for participants who had left the study."""
    active, gone = enrol("reminder-rct"), enrol("reminder-rct")
    withdraw = f"/api/v1/studies/reminder-rct/participants/{gone}/withdraw"
    assert client.post(withdraw, json={"reason": "left", "data_use_withdrawn": True}, headers=host).status_code == 200
    answer = client.post(URL, json={"events": events(active, 1) + events(gone, 1)}, headers=host)
    assert answer.status_code == 409
    assert answer.json["errors"] == {"events[1].participant": ["withdrawn from the study"]}
    assert stored(app) == []


def page_token(browser) -> str:
    """The CSRF token a signed-in participant page hands to participant.js."""
    import json
    import re

    page = browser.get("/p/", follow_redirects=True).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    config = re.search(r'id="hwtrial-config">(.*?)</script>', page)
    return json.loads(config.group(1))["csrf"] if config else found.group(1)


def test_cookie_authenticated_events_need_the_csrf_header(app, client, host, enrol, sign_in):
    """Regression: the API took the session cookie with no CSRF check (cross-site form POSTs)."""
    pid = enrol("reminder-rct", consent=CONSENT)
    browser = sign_in(pid)
    batch = {"events": [{k: v for k, v in e.items() if k != "participant"} for e in events(pid, 1)]}
    refused = browser.post(URL, json=batch)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json["errors"]
    assert browser.post(URL, json=batch, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert stored(app) == []
    assert browser.post(URL, json=batch, headers={"X-CSRF-Token": page_token(browser)}).status_code == 200
    assert client.post(URL, json=batch | {"events": events(pid, 1, start=5)}, headers=host).status_code == 200
