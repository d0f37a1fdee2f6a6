"""Staff pages for users and API tokens (admins only), on both backends."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hwtrial.models import ApiToken, AuditEntry, User

from .people_helpers import db, post_form, staff_client


@pytest.fixture
def admin(app, make_user):
    return staff_client(app, make_user, "admin")


def create(admin, **fields):
    data = {"email": "new@example.org", "role": "coordinator", "display_name": "New Person",
            "password_mode": "temporary", **fields}
    return post_form(admin, "/staff/users", data)


def secret_on(page) -> str:
    return re.search(r'id="secret" class="secret" readonly value="([^"]+)"', page.get_data(as_text=True)).group(1)


def test_only_admins_reach_the_user_pages(app, make_user):
    for role in ("coordinator", "therapist", "statistician"):
        client = staff_client(app, make_user, role)
        assert client.get("/staff/users").status_code == 403
        assert client.get(f"/staff/users/{client.user_id}").status_code == 403
        assert client.post("/staff/users", data={"email": "x@example.org", "role": "admin"}).status_code == 403
    signed_out = app.test_client().get("/staff/users")
    assert signed_out.status_code == 302 and "/login?next=" in signed_out.headers["Location"]


def test_create_user_with_temporary_password_that_signs_in(app, admin):
    answer = create(admin)
    assert answer.status_code == 200 and "Shown once" in answer.get_data(as_text=True)
    password = secret_on(answer)
    assert len(password) >= 12
    browser = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").get_data(as_text=True)).group(1)
    signed = browser.post("/login", data={"email": "new@example.org", "password": password, "csrf_token": token})
    assert signed.status_code == 302
    with app.app_context():
        user = db(app).scalar(sa.select(User).where(User.email == "new@example.org"))
        assert user.role == "coordinator" and user.password_hash and password not in user.password_hash
        assert all(password not in e.payload for e in db(app).scalars(sa.select(AuditEntry)))
    listing = admin.get("/staff/users").get_data(as_text=True)
    assert "new@example.org" in listing and password not in listing


def test_create_user_validation_rerenders_with_problems_next_to_fields(app, admin):
    answer = create(admin, email="not an email", password_mode="set", password="short")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="email-error"' in text and 'id="password-error"' in text
    assert 'value="New Person"' in text
    create(admin)
    again = create(admin)
    assert again.status_code == 409 and 'id="email-error"' in again.get_data(as_text=True)
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).select_from(User).where(
            User.email == "new@example.org")) == 1


def test_create_api_only_user_and_set_password(app, admin):
    answer = create(admin, email="api@example.org", password_mode="none", role="statistician")
    assert answer.status_code == 200 and "no web password" in answer.get_data(as_text=True)
    answer = create(admin, email="set@example.org", password_mode="set", password="a-long-password-1")
    assert answer.status_code == 200 and 'id="secret"' not in answer.get_data(as_text=True)


def test_disable_enable_and_reset_password(app, admin, make_user):
    user_id, token = make_user("coordinator", password="first-password-123")
    url = f"/staff/users/{user_id}"
    assert post_form(admin, url + "/active", {"active": "no", "reason": ""}, form_url=url).status_code == 422
    answer = post_form(admin, url + "/active", {"active": "no", "reason": "left the team"}, form_url=url)
    assert answer.status_code == 303
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert post_form(admin, url + "/active", {"active": "yes", "reason": "back"}, form_url=url).status_code == 303
    answer = post_form(admin, url + "/password", {"mode": "temporary"}, form_url=url)
    assert answer.status_code == 200
    temporary = secret_on(answer)
    short = post_form(admin, url + "/password", {"mode": "set", "password": "short"}, form_url=url)
    assert short.status_code == 422 and 'id="reset-password-error"' in short.get_data(as_text=True)
    assert post_form(admin, url + "/password", {"mode": "set", "password": "x" * 14}, form_url=url).status_code == 303
    with app.app_context():
        from hwtrial.services.users import authenticate

        assert authenticate(db(app), db(app).get(User, user_id).email, "x" * 14) is not None
        assert authenticate(db(app), db(app).get(User, user_id).email, temporary) is None
        actions = list(db(app).scalars(sa.select(AuditEntry.action)))
        assert actions.count("user.password") == 2 and "user.disable" in actions and "user.activate" in actions


def test_admin_cannot_disable_themselves(admin):
    url = f"/staff/users/{admin.user_id}"
    assert post_form(admin, url + "/active", {"active": "no", "reason": "oops"}, form_url=url).status_code == 409


def test_issue_scoped_token_shown_once_and_revoke(app, admin, make_user, load_study):
    key = load_study("reminder-rct")
    user_id, _ = make_user("statistician")
    url = f"/staff/users/{user_id}"
    answer = post_form(admin, url + "/tokens", {"label": "laptop", "study_keys": key}, form_url=url)
    assert answer.status_code == 200
    secret = secret_on(answer)
    assert secret.startswith("hwt")
    assert app.test_client().get(f"/api/v1/studies/{key}", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    page = admin.get(url).get_data(as_text=True)
    assert secret not in page and "laptop" in page and key in page
    bad = post_form(admin, url + "/tokens", {"role": "admin"}, form_url=url)
    assert bad.status_code == 422 and 'id="token-role-error"' in bad.get_data(as_text=True)
    with app.app_context():
        token_id = db(app).scalar(sa.select(ApiToken.id).where(ApiToken.label == "laptop"))
    answer = post_form(admin, f"{url}/tokens/{token_id}/revoke", {}, form_url=url)
    assert answer.status_code == 303
    assert app.test_client().get(f"/api/v1/studies/{key}", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    # another user's token id under this user: 404
    other_id, _ = make_user("coordinator")
    with app.app_context():
        other_token = db(app).scalar(sa.select(ApiToken.id).where(ApiToken.user_id == other_id))
    assert post_form(admin, f"{url}/tokens/{other_token}/revoke", {}, form_url=url).status_code == 404


def test_forms_without_csrf_are_refused(app, admin, make_user):
    user_id, _ = make_user("coordinator")
    for url, data in (("/staff/users", {"email": "a@example.org", "role": "admin"}),
                      (f"/staff/users/{user_id}/active", {"active": "no", "reason": "x"}),
                      (f"/staff/users/{user_id}/password", {"mode": "temporary"}),
                      (f"/staff/users/{user_id}/tokens", {})):
        assert admin.post(url, data=data).status_code == 400, url
    with app.app_context():
        assert db(app).get(User, user_id).active
        assert db(app).scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_unknown_user_is_404(admin):
    assert admin.get("/staff/users/999999").status_code == 404
