"""Users and tokens: stored hashed, shown once, revocable, scoped; disabled accounts do nothing."""

from __future__ import annotations

import sqlalchemy as sa

from hwtrial.models import ApiToken


def test_admin_creates_user_and_token_shown_once(client, make_user, bearer, session):
    admin = bearer(make_user("admin")[1])
    created = client.post("/api/v1/users", json={"email": "Stat@Example.org", "role": "statistician"},
                          headers=admin)
    assert created.status_code == 201
    user = created.get_json()
    assert user["email"] == "stat@example.org"
    issued = client.post(f"/api/v1/users/{user['id']}/tokens", json={"label": "laptop"}, headers=admin)
    assert issued.status_code == 201
    secret = issued.get_json()["token"]
    stored = session.scalars(sa.select(ApiToken.token_hash)).all()
    assert secret not in stored and all(len(h) == 64 for h in stored)
    listed = client.get(f"/api/v1/users/{user['id']}/tokens", headers=admin).get_json()
    assert all("token" not in t for t in listed)
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["role"] == "statistician"


def test_revoked_token_stops_working(client, make_user, bearer):
    admin = bearer(make_user("admin")[1])
    user_id, secret = make_user("coordinator")
    assert client.get("/api/v1/studies/", headers=bearer(secret)).status_code == 200
    token_id = client.get(f"/api/v1/users/{user_id}/tokens", headers=admin).get_json()[0]["id"]
    assert client.delete(f"/api/v1/users/{user_id}/tokens/{token_id}", headers=admin).status_code == 200
    assert client.get("/api/v1/studies/", headers=bearer(secret)).status_code == 401


def test_disabled_account_is_refused(client, make_user, bearer):
    admin = bearer(make_user("admin")[1])
    user_id, secret = make_user("coordinator")
    answer = client.patch(f"/api/v1/users/{user_id}", json={"active": False, "reason": "left the team"},
                          headers=admin)
    assert answer.status_code == 200 and answer.get_json()["active"] is False
    refused = client.get("/api/v1/studies/", headers=bearer(secret))
    assert refused.status_code == 403 and refused.get_json()["message"] == "account disabled"


def test_duplicate_email_and_bad_role(client, make_user, bearer):
    admin = bearer(make_user("admin")[1])
    client.post("/api/v1/users", json={"email": "a@b.org", "role": "therapist"}, headers=admin)
    again = client.post("/api/v1/users", json={"email": "A@b.org", "role": "therapist"}, headers=admin)
    assert again.status_code == 409 and "email" in again.get_json()["errors"]
    bad = client.post("/api/v1/users", json={"email": "c@b.org", "role": "wizard"}, headers=admin)
    assert bad.status_code == 422 and "role" in bad.get_json()["errors"]


def test_non_admin_cannot_manage_users(client, make_user, bearer):
    coordinator = bearer(make_user("coordinator")[1])
    assert client.get("/api/v1/users", headers=coordinator).status_code == 403


def test_api_and_cli_share_the_account_rules(client, make_user, bearer):
    """The schema lets `user@localhost` through; the service (shared with the CLI) refuses it."""
    admin = bearer(make_user("admin")[1])
    local = client.post("/api/v1/users", json={"email": "user@localhost", "role": "therapist"}, headers=admin)
    assert local.status_code == 422 and local.get_json()["errors"] == {"email": ["not a valid email address"]}
    short = client.post("/api/v1/users", json={"email": "p@b.org", "role": "therapist", "password": "x"},
                        headers=admin)
    assert short.status_code == 422 and "password" in short.get_json()["errors"]
