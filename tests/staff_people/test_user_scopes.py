"""Study scopes on user accounts: an admin limits a coordinator, therapist or statistician to
some studies; sessions and tokens of that account then see only those (others answer 404
like unknown ones), on the pages and in the API. Set on the admin's user page, through the
API and with ``hwtrial users scope``; audited. Both backends."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hwtrial.models import AuditEntry, User

from .people_helpers import db, post_form, staff_client

API = "/api/v1"


@pytest.fixture
def two_studies(load_study):
    return load_study("reminder-rct"), load_study("therapist-cluster")


def scope_entries(app, user_id):
    with app.app_context():
        return [json.loads(e.payload) for e in db(app).scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "user.scopes",
                                        AuditEntry.target == f"user:{user_id}").order_by(AuditEntry.seq))]


@pytest.mark.parametrize("role", ["coordinator", "statistician"])
def test_admin_limits_an_account_on_its_page_and_pages_and_api_follow(app, make_user, bearer, two_studies, role):
    mine, other = two_studies
    admin = staff_client(app, make_user, "admin")
    user_id, token = make_user(role)
    staff = staff_client(app, make_user, role, user_id=user_id)
    assert staff.get(f"/staff/studies/{other}").status_code == 200  # before: every study

    saved = post_form(admin, f"/staff/users/{user_id}/scopes", {"study_keys": [mine]},
                      form_url=f"/staff/users/{user_id}")
    assert saved.status_code == 303
    page = admin.get(saved.headers["Location"]).get_data(as_text=True)
    assert "The account&#39;s studies were saved" in page and f'<dd id="user-scope">{mine}</dd>' in page
    with app.app_context():
        assert db(app).get(User, user_id).study_keys == [mine]
    assert scope_entries(app, user_id)[-1]["after"] == {"study_keys": [mine]}

    listing = staff.get("/staff/studies").get_data(as_text=True)
    assert f"/staff/studies/{mine}" in listing and other not in listing
    assert staff.get(f"/staff/studies/{mine}").status_code == 200
    unknown = staff.get("/staff/studies/no-such-study")
    hidden = staff.get(f"/staff/studies/{other}")
    assert hidden.status_code == unknown.status_code == 404
    assert staff.get(f"/staff/studies/{other}/results").status_code == 404
    # the account's token (issued before the scope) is limited too
    assert client_get(app, f"{API}/studies/{other}", bearer(token)).status_code == 404
    assert client_get(app, f"{API}/studies/{mine}", bearer(token)).status_code == 200
    keys = [s["key"] for s in client_get(app, f"{API}/studies/", bearer(token)).json]
    assert keys == [mine]

    lifted = post_form(admin, f"/staff/users/{user_id}/scopes", {"scope": "all"}, form_url=f"/staff/users/{user_id}")
    assert lifted.status_code == 303
    assert staff.get(f"/staff/studies/{other}").status_code == 200
    last = scope_entries(app, user_id)[-1]
    assert (last["before"], last["after"], last["actor"]) == ({"study_keys": [mine]}, {"study_keys": None},
                                                              f"user:{admin.user_id}")


def client_get(app, url, headers):
    return app.test_client().get(url, headers=headers)


def test_a_token_of_a_scoped_user_gets_the_intersection(app, make_user, bearer, two_studies):
    mine, other = two_studies
    user_id, _ = make_user("therapist")
    _, admin_token = make_user("admin")
    api = app.test_client()
    wide = api.post(f"{API}/users/{user_id}/tokens", json={"study_keys": [mine, other]},
                    headers=bearer(admin_token)).json["token"]
    narrow = api.post(f"{API}/users/{user_id}/tokens", json={"study_keys": [other]},
                      headers=bearer(admin_token)).json["token"]
    answer = api.put(f"{API}/users/{user_id}/scopes", json={"study_keys": [mine]}, headers=bearer(admin_token))
    assert answer.status_code == 200 and answer.json["study_keys"] == [mine]
    assert api.get(f"{API}/studies/{mine}", headers=bearer(wide)).status_code == 200
    assert api.get(f"{API}/studies/{other}", headers=bearer(wide)).status_code == 404
    # a token for a study outside the account's scope reaches nothing
    assert api.get(f"{API}/studies/{other}", headers=bearer(narrow)).status_code == 404
    assert api.get(f"{API}/studies/{mine}", headers=bearer(narrow)).status_code == 404
    assert api.get(f"{API}/studies/", headers=bearer(narrow)).json == []
    assert api.get(f"{API}/users/{user_id}", headers=bearer(admin_token)).json["study_keys"] == [mine]
    cleared = api.put(f"{API}/users/{user_id}/scopes", json={"study_keys": None}, headers=bearer(admin_token))
    assert cleared.status_code == 200 and cleared.json["study_keys"] is None
    assert api.get(f"{API}/studies/{other}", headers=bearer(wide)).status_code == 200


def test_bad_scopes_answer_422_naming_the_field(app, make_user, bearer, two_studies):
    mine, _ = two_studies
    _, admin_token = make_user("admin")
    other_admin, _ = make_user("admin")
    coordinator, _ = make_user("coordinator")
    api = app.test_client()
    unknown = api.put(f"{API}/users/{coordinator}/scopes", json={"study_keys": ["nope"]}, headers=bearer(admin_token))
    assert unknown.status_code == 422 and "study_keys" in unknown.json["errors"]
    admin = api.put(f"{API}/users/{other_admin}/scopes", json={"study_keys": [mine]}, headers=bearer(admin_token))
    assert admin.status_code == 422 and "study_keys" in admin.json["errors"]
    missing = api.put(f"{API}/users/{coordinator}/scopes", json={}, headers=bearer(admin_token))
    assert missing.status_code == 422
    assert api.put(f"{API}/users/999999/scopes", json={"study_keys": None}, headers=bearer(admin_token)).status_code == 404
    _, coordinator_token = make_user("coordinator")
    assert api.put(f"{API}/users/{coordinator}/scopes", json={"study_keys": None},
                   headers=bearer(coordinator_token)).status_code == 403
    admin_page = staff_client(app, make_user, "admin")
    page = post_form(admin_page, f"/staff/users/{coordinator}/scopes", {"study_keys": ["nope"]},
                     form_url=f"/staff/users/{coordinator}")
    assert page.status_code == 422 and "unknown study" in page.get_data(as_text=True)
    with app.app_context():
        assert db(app).get(User, coordinator).study_keys is None
        assert db(app).get(User, other_admin).study_keys is None


def test_cli_sets_lists_and_lifts_scopes(app, runner, make_user, two_studies):
    mine, other = two_studies
    user_id, _ = make_user("statistician", email="stat-scope@test.example")
    done = runner.invoke(args=["hwtrial", "users", "scope", "stat-scope@test.example", "--study", mine])
    assert done.exit_code == 0 and mine in done.output
    listed = runner.invoke(args=["hwtrial", "users", "list"])
    assert f"studies={mine}" in listed.output
    assert runner.invoke(args=["hwtrial", "users", "scope", "stat-scope@test.example"]).exit_code != 0
    bad = runner.invoke(args=["hwtrial", "users", "scope", "stat-scope@test.example", "--study", "nope"])
    assert bad.exit_code != 0 and "unknown study" in bad.output
    lifted = runner.invoke(args=["hwtrial", "users", "scope", "stat-scope@test.example", "--all-studies"])
    assert lifted.exit_code == 0 and "every study" in lifted.output
    with app.app_context():
        assert db(app).get(User, user_id).study_keys is None
    assert [e["after"] for e in scope_entries(app, user_id)] == [{"study_keys": [mine]}, {"study_keys": None}]
