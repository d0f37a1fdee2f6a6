"""Participant lookup by external id, and the paginated, filtered participant list."""

from __future__ import annotations

import json

import pytest

from tests.enrolment.helpers import enrol, rct

URL = "/api/v1/studies/reminder-rct/participants"


@pytest.fixture
def staff(make_user, bearer):
    return {role: bearer(make_user(role)[1]) for role in ("coordinator", "statistician")}


@pytest.fixture
def enrolled(client, load_study, staff):
    load_study("reminder-rct")
    return [rct(client, staff["coordinator"], f"host-{n}", site=("north", "south")[n % 2]).get_json()
            for n in range(5)]


def test_lookup_by_external_id_gives_hwtrials_id(client, enrolled, staff):
    answer = client.get(f"{URL}/by-external-id/host-3", headers=staff["coordinator"])
    assert answer.status_code == 200 and answer.get_json()["id"] == enrolled[3]["id"]
    slashed = client.get(f"{URL}/by-external-id/no/such/id", headers=staff["coordinator"])
    assert slashed.status_code == 404 and "no/such/id" in slashed.get_json()["message"]


def test_lookup_respects_a_therapists_own_clients(client, enrolled, make_user, bearer):
    therapist = bearer(make_user("therapist")[1])
    assert client.get(f"{URL}/by-external-id/host-1", headers=therapist).status_code == 404


def test_lookup_by_external_id_is_for_those_who_see_external_ids(client, load_study, staff, make_user, bearer):
    # Blinded staff never see external ids, so they must not test one either: the answer
    # would say whether a known person is enrolled and give their record (issue 9).
    load_study("reminder-rct")
    user, token = make_user("therapist")
    own = enrol(client, staff["coordinator"], "reminder-rct", "host-own", {"site": "north", "severity": "mild"},
                therapist_id=user).get_json()
    assert client.get(f"{URL}/{own['id']}", headers=bearer(token)).status_code == 200  # their client
    for headers in (bearer(token), staff["statistician"]):
        known = client.get(f"{URL}/by-external-id/host-own", headers=headers)
        unknown = client.get(f"{URL}/by-external-id/host-nobody", headers=headers)
        assert known.status_code == unknown.status_code == 404
        assert known.get_json()["message"].replace("host-own", "X") == \
            unknown.get_json()["message"].replace("host-nobody", "X")


def test_list_is_paginated_with_the_x_pagination_header(client, enrolled, staff):
    answer = client.get(URL, query_string={"page": 2, "page_size": 2}, headers=staff["coordinator"])
    assert answer.status_code == 200
    assert [p["id"] for p in answer.get_json()] == [enrolled[2]["id"], enrolled[3]["id"]]
    meta = json.loads(answer.headers["X-Pagination"])
    assert meta == {"total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2,
                    "previous_page": 1, "next_page": 3}
    past = client.get(URL, query_string={"page": 10**12}, headers=staff["coordinator"])
    assert past.status_code == 200 and past.get_json() == []
    assert client.get(URL, query_string={"page_size": 0}, headers=staff["coordinator"]).status_code == 422


def test_list_filters_status_and_enrolment_time(client, enrolled, staff):
    headers = staff["coordinator"]
    client.post(f"{URL}/{enrolled[0]['id']}/withdraw", json={"reason": "asked"}, headers=headers)
    withdrawn = client.get(URL, query_string={"status": "withdrawn"}, headers=headers).get_json()
    assert [p["id"] for p in withdrawn] == [enrolled[0]["id"]]
    cut = enrolled[2]["enrolled_at"]
    after = client.get(URL, query_string={"enrolled_after": cut}, headers=headers).get_json()
    before = client.get(URL, query_string={"enrolled_before": cut}, headers=headers).get_json()
    assert [p["id"] for p in after] == [p["id"] for p in enrolled[2:]]
    assert [p["id"] for p in before] == [p["id"] for p in enrolled[:3]]
    naive = client.get(URL, query_string={"enrolled_after": "2026-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422 and "enrolled_after" in naive.get_json()["errors"]


def test_far_time_bounds_are_valid_filters(client, enrolled, staff):
    """Year 1 or 9999 with any offset is a bound the document allows: it selects everything or
    nothing (it answered 500: the conversion to UTC overflowed)."""
    headers = staff["coordinator"]
    everyone = sorted(p["id"] for p in enrolled)
    for bounds, expected in [({"enrolled_after": "9999-12-31T23:59:59-23:59"}, []),
                             ({"enrolled_before": "0001-01-01T00:00:00+14:00"}, []),
                             ({"enrolled_after": "0001-01-01T00:00:00+14:00",
                               "enrolled_before": "9999-12-31T23:59:59.999999-23:59"}, everyone)]:
        answer = client.get(URL, query_string=bounds, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        assert sorted(p["id"] for p in answer.get_json()) == expected, bounds


def test_arm_filter_only_for_callers_who_see_arms(client, enrolled, staff):
    arm = enrolled[0]["arm"]
    rows = client.get(URL, query_string={"arm": arm}, headers=staff["coordinator"]).get_json()
    assert rows and {p["arm"] for p in rows} == {arm}
    assert {p["id"] for p in rows} == {p["id"] for p in enrolled if p["arm"] == arm}
    blinded = client.get(URL, query_string={"arm": arm}, headers=staff["statistician"])
    assert blinded.status_code == 403 and "arm" in blinded.get_json()["errors"]
