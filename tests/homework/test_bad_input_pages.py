"""Bad input on participant pages, drafts and events: refused or bounded, never a 500 (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import csrf
from .test_events_api import URL, events
from .test_participant_pages import first_open, started


def test_autosaved_draft_keeps_no_value_longer_than_its_field(load_study, enrol, sign_in, shift_past,
                                                              instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    token = csrf(client, f"/p/tasks/{iid}")
    answer = client.post(f"/p/tasks/{iid}/draft", data={"csrf_token": token, "situation": "x" * 400_000,
                                                        "emotion": "sad", "intensity": "9" * 5000})
    assert answer.status_code == 200
    assert answer.json["problems"]["situation"][0].startswith("must be at most")
    row = next(r for r in instances(pid) if r["id"] == iid)
    assert row["draft"] == {"emotion": ["sad"]}


@pytest.mark.parametrize("value", ["a\x00b", "%00"])
def test_nul_in_a_form_is_422_and_nothing_is_kept(load_study, enrol, sign_in, shift_past, instances, value):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    token = csrf(client, f"/p/tasks/{iid}")
    if value == "%00":  # as a browser would encode it
        answer = client.post(f"/p/tasks/{iid}", data=f"csrf_token={token}&action=submit&situation=a%00b",
                             content_type="application/x-www-form-urlencoded")
    else:
        answer = client.post(f"/p/tasks/{iid}", data={"csrf_token": token, "action": "draft",
                                                      "situation": value})
    assert answer.status_code == 422 and "text/html" in answer.content_type
    assert next(r for r in instances(pid) if r["id"] == iid)["draft"] is None


def test_homework_text_with_nul_is_refused_by_the_field_check():
    from hwtrial.homework import validate_submission

    fields = [{"key": "note", "type": "text"}]
    assert validate_submission(fields, {"note": "a\x00b"})[1] == {
        "note": ["must not contain NUL or unpaired surrogate characters"]}
    assert validate_submission(fields, {"note": "a\ud800"})[1]["note"]


@pytest.fixture
def host(app, load_study, make_user, bearer):
    load_study("reminder-rct")
    return bearer(make_user("coordinator")[1])


def test_event_payloads_are_capped(client, host, enrol):
    pid = enrol("reminder-rct")
    [event] = events(pid, 1)
    big = {**event, "payload": {"blob": "x" * 1_000_000}}
    answer = client.post(URL, json={"events": [big]}, headers=host)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"events[0].payload": ["must be at most 8192 bytes as JSON"]}
    fits = {**event, "payload": {"blob": "x" * 8000}}
    assert client.post(URL, json={"events": [fits]}, headers=host).status_code == 200


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                  "1999-12-31T23:59:59Z", "future"])
def test_implausible_client_times_are_422(client, host, enrol, when):
    pid = enrol("reminder-rct")
    if when == "future":
        when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    [event] = events(pid, 1)
    answer = client.post(URL, json={"events": [{**event, "client_time": when}]}, headers=host)
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == ["events[0].client_time"]


@pytest.mark.parametrize("ref", ["participant", "instance"])
def test_event_reference_ids_above_int32_are_422(client, host, enrol, ref):
    pid = enrol("reminder-rct")
    [event] = events(pid, 1)
    answer = client.post(URL, json={"events": [{**event, ref: 2**31}]}, headers=host)
    assert answer.status_code == 422
    assert answer.json["errors"] == {f"events[0].{ref}": ["must be an integer id"]}


#: Digits that ``str.isdigit`` accepts and ``int()`` refuses (superscripts, circled digits).
UNICODE_DIGITS = ["²", "①", "1²"]


def test_whole_number_takes_ascii_digits_only():
    from hwtrial.api.fields import whole_number

    assert [whole_number(v) for v in ["7", "007", "", None, "-1", " 1", "1e3", *UNICODE_DIGITS]] == [
        7, 7, None, None, None, None, None, None, None, None]
    assert whole_number("1" * 10) is None and whole_number("1" * 10, 10) == 1_111_111_111
    from hwtrial.reminders.webhooks import verify  # the receiver's snippet: False, not ValueError

    assert not any(verify("secret", digit, b"{}", "v1=0") for digit in UNICODE_DIGITS)


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_in_numeric_query_and_form_values_are_4xx_never_500(app, load_study, enrol, sign_in,
                                                                           shift_past, make_user, digit):
    # The link exchange's reminder id is public: anyone may post it with a CSRF token from GET.
    visitor = app.test_client()
    answer = visitor.post("/p/start", data={"token": "x", "reminder": digit,
                                            "csrf_token": csrf(visitor, "/p/start?token=x")})
    assert answer.status_code == 403
    pid, client = started(load_study, enrol, sign_in, shift_past, arm="reminders")  # an arm with reminders
    answer = client.post("/p/reminders", data={"csrf_token": csrf(client, "/p/"), "action": "pause",
                                               "task": digit})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/p/")
    make_user("admin", email="admin@example.org", password="correct horse battery")
    staff = app.test_client()
    staff.post("/login", data={"csrf_token": csrf(staff, "/login"), "email": "admin@example.org",
                               "password": "correct horse battery"})
    assert staff.get(f"/staff/audit?page={digit}").status_code == 200  # the first page
    assert staff.get(f"/staff/studies/reminder-rct/versions?to={digit}").status_code == 400
    assert staff.get(f"/staff/studies/reminder-rct/participants?page={digit}").status_code == 422
    form = csrf(staff, "/staff/studies/reminder-rct/participants/new")
    answer = staff.post("/staff/studies/reminder-rct/participants/new", data={
        "csrf_token": form, "external_id": "q-1", "site": "north", "severity": "mild", "therapist_id": digit})
    assert answer.status_code == 422
