"""Bad input answers 4xx in the JSON error shape and stores nothing; never a 500 (issue 9)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hwtrial.models import Participant

ERROR_KEYS = {"code", "status", "message", "errors"}
PARTICIPANTS = "/api/v1/studies/reminder-rct/participants"
CONSENT = {"version": "2.1", "method": "web", "locale": "en"}
BIG = 2**31  # one past the largest integer id


@pytest.fixture
def coordinator(make_user, bearer):
    return bearer(make_user("coordinator")[1])


@pytest.fixture
def admin(make_user, bearer):
    return bearer(make_user("admin")[1])


def enrol_body(**extra):
    body = {"external_id": "p-1", "strata": {"site": "north", "severity": "mild"}, "consent": CONSENT}
    body.update(extra)
    return body


def errors_of(answer, status=422) -> dict:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:300])
    body = answer.get_json()
    assert set(body) == ERROR_KEYS and body["code"] == status
    return body["errors"]


def participants(app) -> int:
    with app.app_context():
        return app.extensions["hwtrial"].db.session.scalar(sa.select(sa.func.count(Participant.id)))


def post_raw(client, url, text, headers):
    """Send JSON text as typed: ``"\\ud800"`` is valid JSON that no Python client would encode."""
    return client.post(url, data=text, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("path", [
    f"{PARTICIPANTS}/{BIG}", f"{PARTICIPANTS}/{10**30}/features",
    f"/api/v1/studies/reminder-rct/homework/{BIG}/review",
    f"/api/v1/users/{BIG}", f"/api/v1/users/1/tokens/{10**25}",
    "/api/v1/studies/reminder%00rct", "/api/v1/studies/%ED%A0%80"])
def test_ids_and_keys_that_cannot_exist_are_404(client, load_study, admin, path):
    load_study("reminder-rct")
    method = client.post if path.endswith("review") else (
        client.delete if "/tokens/" in path else client.get)
    errors_of(method(path, headers=admin, json={}), 404)


def test_body_id_above_int32_is_422_and_stores_nothing(app, client, load_study, coordinator):
    load_study("reminder-rct")
    errors = errors_of(client.post(PARTICIPANTS, json=enrol_body(therapist_id=BIG), headers=coordinator))
    assert list(errors) == ["therapist_id"]
    assert participants(app) == 0


@pytest.mark.parametrize("text", ['"p\\u0000-1"', '"p\\ud800-1"', '"p\\udfff"'])
def test_nul_and_lone_surrogates_are_422_naming_the_field(app, client, load_study, coordinator, text):
    load_study("reminder-rct")
    body = json.dumps(enrol_body()).replace('"p-1"', text)
    errors = errors_of(post_raw(client, PARTICIPANTS, body, coordinator))
    assert list(errors) == ["external_id"]
    nested = json.dumps(enrol_body()).replace('"north"', text)
    assert list(errors_of(post_raw(client, PARTICIPANTS, nested, coordinator))) == ["strata.site"]
    assert participants(app) == 0


def test_unstorable_text_anywhere_in_a_body_is_422(client, load_study, coordinator):
    load_study("reminder-rct")
    batch = ('{"events": [{"id": "e1", "participant": 1, "type": "field_changed",'
             ' "client_time": "2026-03-01T09:00:00Z", "payload": {"note": "a\\u0000b", "k\\ud800": 1}}]}')
    errors = errors_of(post_raw(client, "/api/v1/studies/reminder-rct/events", batch, coordinator))
    assert errors["events[0].payload.note"] == ["must not contain NUL characters"]
    assert errors["events[0].payload"] == ["key: must not contain unpaired surrogate characters"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_anywhere_in_a_body_are_422_and_store_nothing(app, client, load_study, coordinator,
                                                                          number):
    # Python's decoder takes them; they are not JSON, and stored as "NaN" text no export reader parses.
    from hwtrial.models import Event

    load_study("reminder-rct")
    batch = ('{"events": [{"id": "e1", "participant": 1, "type": "field_changed",'
             ' "client_time": "2026-03-01T09:00:00Z", "payload": {"x": [1, NUMBER]}}]}').replace("NUMBER", number)
    errors = errors_of(post_raw(client, "/api/v1/studies/reminder-rct/events", batch, coordinator))
    assert errors == {"events[0].payload.x[1]": ["must be a finite number (NaN and Infinity are not JSON)"]}
    with app.app_context():
        assert app.extensions["hwtrial"].db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_nul_in_a_query_string_is_422(client, load_study, coordinator):
    load_study("reminder-rct")
    errors = errors_of(client.get("/api/v1/studies/reminder-rct/results?sections=a%00b", headers=coordinator))
    assert list(errors) == ["sections"]


def test_overlong_time_zone_is_422(app, client, load_study, coordinator):
    load_study("reminder-rct")
    errors = errors_of(client.post(PARTICIPANTS, json=enrol_body(timezone="Europe/" + "x" * 300),
                                   headers=coordinator))
    assert errors == {"timezone": ["must be at most 64 characters"]}
    assert participants(app) == 0


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                  "0001-01-01T00:00:00+00:00"])
def test_consent_time_at_the_edge_of_the_datetime_range_is_422(app, client, load_study, coordinator, when):
    load_study("reminder-rct")
    body = enrol_body(consent={**CONSENT, "consented_at": when})
    errors = errors_of(client.post(PARTICIPANTS, json=body, headers=coordinator))
    assert list(errors) == ["consent.consented_at"]
    assert participants(app) == 0


def test_malformed_json_is_422(client, coordinator):
    errors = errors_of(post_raw(client, PARTICIPANTS, "{not json", coordinator))
    assert list(errors) == ["<json>"]


def _body_routes(client):
    """Every API operation with a JSON request body, with sample path values."""
    document = client.get("/api/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                url = path.replace("{study_key}", "reminder-rct")
                for name in ("participant_id", "instance_id", "user_id", "alert_id", "token_id"):
                    url = url.replace("{" + name + "}", "1")
                yield method, url


@pytest.mark.parametrize("depth", [10_000, 300])
def test_deep_json_is_422_on_every_endpoint_with_a_body(client, load_study, admin, depth):
    load_study("reminder-rct")
    deep = "[" * depth + "]" * depth
    routes = list(_body_routes(client))
    assert len(routes) >= 15
    for method, url in routes:
        answer = client.open(url, method=method.upper(), data='{"x": ' + deep + "}",
                             headers={**admin, "Content-Type": "application/json"})
        if answer.status_code == 404:  # the sample id does not exist (checked from the URL first)
            assert set(answer.get_json()) == ERROR_KEYS
            continue
        assert list(errors_of(answer)) == ["<json>"], (method, url)


def test_db_errors_do_not_carry_their_parameters(app):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        with pytest.raises(sa.exc.DBAPIError) as caught:
            session.execute(sa.text("SELEC :answer"), {"answer": "my-private-answer"})
        session.rollback()
    assert "my-private-answer" not in str(caught.value)
    assert "parameters hidden" in str(caught.value)
