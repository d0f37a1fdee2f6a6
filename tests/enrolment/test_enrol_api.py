"""Enrolment API: created, replayed, conflicting and refused enrolments."""

from __future__ import annotations

import pytest

CONSENT_RCT = {"version": "2.1", "method": "web", "locale": "en"}


@pytest.fixture
def coordinator(make_user, bearer):
    _uid, token = make_user("coordinator")
    return bearer(token)


@pytest.fixture
def statistician(make_user, bearer):
    _uid, token = make_user("statistician")
    return bearer(token)


def enrol_body(external_id="p-1", **extra):
    body = {"external_id": external_id, "strata": {"site": "north", "severity": "mild"},
            "consent": CONSENT_RCT, "timezone": "Europe/London"}
    body.update(extra)
    return body


def url(key="reminder-rct"):
    return f"/api/v1/studies/{key}/participants"


def test_enrol_creates_then_replays_identically(client, load_study, coordinator):
    load_study("reminder-rct")
    first = client.post(url(), json=enrol_body(), headers=coordinator)
    assert first.status_code == 201, first.json
    body = first.json
    assert body["arm"] in ("control", "reminders") and body["arm_code"] in ("A", "B")
    assert body["stratum"] == "site=north|severity=mild"
    assert "/p/start?token=" in body["link"]
    assert set(body["features"]) == {"reminders", "self_review", "framing", "extra"}
    again = client.post(url(), json=enrol_body(), headers=coordinator)
    assert again.status_code == 200
    assert again.json == body


def test_blinded_caller_sees_the_code(client, load_study, coordinator, statistician):
    load_study("reminder-rct")
    created = client.post(url(), json=enrol_body(), headers=coordinator).json
    seen = client.get(f"{url()}/{created['id']}", headers=statistician).json
    assert seen["arm"] == created["arm_code"]
    listed = client.get(url(), headers=statistician).json
    assert [p["arm"] for p in listed] == [created["arm_code"]]


def test_other_strata_conflict_with_stored_answer(client, load_study, coordinator):
    load_study("reminder-rct")
    stored = client.post(url(), json=enrol_body(), headers=coordinator).json
    other = enrol_body(strata={"site": "south", "severity": "mild"})
    response = client.post(url(), json=other, headers=coordinator)
    assert response.status_code == 409
    # The stored answer without the sign-in link: a conflict is not a replay of the enrolment.
    assert response.json["existing"] == {k: v for k, v in stored.items() if k != "link"}
    cluster = client.post(url(), json=enrol_body(cluster="t-9"), headers=coordinator)
    assert cluster.status_code == 409


def test_missing_factor_is_named(client, load_study, coordinator):
    load_study("reminder-rct")
    response = client.post(url(), json=enrol_body(strata={"site": "north"}), headers=coordinator)
    assert response.status_code == 422
    assert response.json["errors"] == {"strata.severity": ["missing"]}


def test_unknown_level_and_time_zone_refused(client, load_study, coordinator):
    load_study("reminder-rct")
    bad = client.post(url(), json=enrol_body(strata={"site": "mars", "severity": "mild"}),
                      headers=coordinator)
    assert bad.status_code == 422 and "strata.site" in bad.json["errors"]
    tz = client.post(url(), json=enrol_body(timezone="Mars/Olympus"), headers=coordinator)
    assert tz.status_code == 422 and "timezone" in tz.json["errors"]
    consent = client.post(url(), json=enrol_body(consent={"version": "1.0"}), headers=coordinator)
    assert consent.status_code == 422 and "consent.version" in consent.json["errors"]


def test_inactive_study_refuses(client, load_study, coordinator):
    load_study("reminder-rct", activate=False)
    response = client.post(url(), json=enrol_body(), headers=coordinator)
    assert response.status_code == 409


def test_statistician_cannot_enrol(client, load_study, statistician):
    load_study("reminder-rct")
    assert client.post(url(), json=enrol_body(), headers=statistician).status_code == 403
