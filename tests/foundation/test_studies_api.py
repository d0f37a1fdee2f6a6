"""Studies API: create from JSON or YAML, 422 naming path and problem, lifecycle, amendments."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

STUDY_FILE = Path(__file__).resolve().parents[2] / "studies" / "reminder-rct.yaml"


@pytest.fixture
def coordinator(make_user, bearer):
    return bearer(make_user("coordinator")[1])


@pytest.fixture
def study_yaml() -> str:
    return STUDY_FILE.read_text()


def test_create_from_yaml_and_read_back(client, coordinator, study_yaml):
    answer = client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=coordinator)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["key"] == "reminder-rct" and body["status"] == "draft" and body["version"] == 1
    assert [a["key"] for a in body["arms"]] == ["control", "reminders"]
    listed = client.get("/api/v1/studies/", headers=coordinator).get_json()
    assert [s["key"] for s in listed] == ["reminder-rct"]
    assert client.get("/api/v1/studies/reminder-rct", headers=coordinator).get_json()["title"] == body["title"]


def test_create_from_json_definition(client, coordinator, study_yaml):
    answer = client.post("/api/v1/studies/", json={"definition": yaml.safe_load(study_yaml)},
                         headers=coordinator)
    assert answer.status_code == 201


def test_duplicate_key_is_409(client, coordinator, study_yaml):
    client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=coordinator)
    answer = client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=coordinator)
    assert answer.status_code == 409 and answer.get_json()["errors"] == {"key": ["already exists"]}


def test_invalid_definition_is_422_naming_path_and_problem(client, coordinator, study_yaml):
    broken = study_yaml.replace('times: ["18:30"]', 'times: ["25:00"]')
    answer = client.post("/api/v1/studies/", json={"yaml": broken}, headers=coordinator)
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert "arms[1].features.reminders.times[0]" in errors
    assert any("is not a time of day" in m for m in errors["arms[1].features.reminders.times[0]"])
    assert client.get("/api/v1/studies/", headers=coordinator).get_json() == []  # nothing stored


def test_yaml_syntax_error_is_422_with_line_and_column(client, coordinator):
    answer = client.post("/api/v1/studies/validate", json={"yaml": "key: x\n  bad: [1,\n"},
                         headers=coordinator)
    assert answer.status_code == 422
    messages = [m for ms in answer.get_json()["errors"].values() for m in ms]
    assert any("line" in m for m in messages) or any("line" in k for k in answer.get_json()["errors"])


def test_lifecycle_draft_active_closed(client, coordinator, study_yaml):
    client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=coordinator)
    url = "/api/v1/studies/reminder-rct/status"
    assert client.post(url, json={"status": "closed"}, headers=coordinator).status_code == 409
    assert client.post(url, json={"status": "active"}, headers=coordinator).get_json()["status"] == "active"
    assert client.post(url, json={"status": "active"}, headers=coordinator).status_code == 409
    assert client.post(url, json={"status": "closed", "reason": "end"}, headers=coordinator).status_code == 200
    assert client.post(url, json={"status": "draft"}, headers=coordinator).status_code == 422


def test_amendment_of_active_study_needs_reason_and_keeps_design(client, coordinator, study_yaml):
    client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=coordinator)
    client.post("/api/v1/studies/reminder-rct/status", json={"status": "active"}, headers=coordinator)
    retitled = study_yaml.replace("title: Homework reminders in CBT for depression",
                                  "title: Homework reminders in CBT (amended)")
    url = "/api/v1/studies/reminder-rct/amendments"
    assert client.post(url, json={"yaml": retitled}, headers=coordinator).status_code == 422
    answer = client.post(url, json={"yaml": retitled, "reason": "clearer title"}, headers=coordinator)
    assert answer.status_code == 201 and answer.get_json()["version"] == 2
    redesigned = retitled.replace("block_sizes: [2, 4]", "block_sizes: [4]")
    locked = client.post(url, json={"yaml": redesigned, "reason": "bigger blocks"}, headers=coordinator)
    assert locked.status_code == 422 and "allocation" in locked.get_json()["errors"]


def test_amendments_and_transitions_are_audited(app, client, coordinator, study_yaml, session):
    import sqlalchemy as sa

    from hwtrial.models import AuditEntry

    client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=coordinator)
    client.post("/api/v1/studies/reminder-rct/status", json={"status": "active"}, headers=coordinator)
    actions = session.scalars(sa.select(AuditEntry.action).where(AuditEntry.study_key == "reminder-rct")
                              .order_by(AuditEntry.seq)).all()
    assert actions == ["study.create", "study.active"]


def test_blinded_roles_see_codes_only(client, make_user, bearer, load_study):
    load_study("reminder-rct")
    statistician = bearer(make_user("statistician")[1])
    body = client.get("/api/v1/studies/reminder-rct", headers=statistician).get_json()
    assert body["arms"] == [{"code": "A"}, {"code": "B"}]
    # The plan without arm names or features (tests/enrolment/test_blinding_leaks.py has the rest).
    definition = body["definition"]
    assert definition["arms"] == [{"code": "A", "ratio": 1}, {"code": "B", "ratio": 1}]
    assert definition["analysis"]["primary"]["instrument"] == "phq9"
    assert "reminders" not in str(definition["arms"])


def test_token_scoped_to_other_study_sees_404(client, make_user, bearer, load_study, app):
    load_study("reminder-rct")
    load_study("factorial-screening")
    from hwtrial.services import users

    user_id, _ = make_user("coordinator")
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        scoped = users.issue_token(session, "test", users.get_user(session, user_id),
                                   study_keys=["factorial-screening"]).secret
        session.commit()
    headers = bearer(scoped)
    assert client.get("/api/v1/studies/reminder-rct", headers=headers).status_code == 404
    assert [s["key"] for s in client.get("/api/v1/studies/", headers=headers).get_json()] == ["factorial-screening"]


def test_study_level_unblinding_shows_arms_to_blinded_roles(client, make_user, bearer, load_study, session):
    from hwtrial.models import Study, utcnow

    load_study("reminder-rct")
    statistician = bearer(make_user("statistician")[1])
    session.query(Study).filter_by(key="reminder-rct").one().unblinded_at = utcnow()
    session.commit()
    body = client.get("/api/v1/studies/reminder-rct", headers=statistician).get_json()
    assert [a["key"] for a in body["arms"]] == ["control", "reminders"]


def _scoped(app, make_user, role, keys):
    from hwtrial.services import users

    user_id, _ = make_user(role)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        secret = users.issue_token(session, "test", users.get_user(session, user_id), study_keys=keys).secret
        session.commit()
    return secret


def test_scoped_token_cannot_create_studies(client, make_user, bearer, load_study, app, study_yaml):
    """Regression: a token scoped to one study created studies outside its scope."""
    load_study("factorial-screening")
    headers = bearer(_scoped(app, make_user, "coordinator", ["factorial-screening"]))
    answer = client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=headers)
    assert answer.status_code == 403
    load_study("reminder-rct")  # an existing key answers the same (no 409 that tells it exists)
    assert client.post("/api/v1/studies/", json={"yaml": study_yaml}, headers=headers).status_code == 403
    assert client.get("/api/v1/studies/", headers=headers).get_json()[0]["key"] == "factorial-screening"


def test_scoped_admin_token_cannot_widen_its_scope(client, make_user, bearer, load_study, app):
    load_study("factorial-screening")
    load_study("reminder-rct")
    headers = bearer(_scoped(app, make_user, "admin", ["factorial-screening"]))
    target, _ = make_user("coordinator")
    url = f"/api/v1/users/{target}/tokens"
    assert client.post(url, json={}, headers=headers).status_code == 403  # unscoped
    assert client.post(url, json={"study_keys": ["reminder-rct"]}, headers=headers).status_code == 403
    assert client.post(url, json={"study_keys": ["factorial-screening"]}, headers=headers).status_code == 201


def test_scoped_admin_token_cannot_manage_accounts(client, make_user, bearer, load_study, app):
    # Accounts belong to no study: a scoped admin token that created an admin with a password,
    # re-enabled an account or widened a scope could sign in unscoped at /login (issue 9 sibling).
    load_study("factorial-screening")
    headers = bearer(_scoped(app, make_user, "admin", ["factorial-screening"]))
    target, _ = make_user("coordinator")
    body = {"email": "new-admin@test.example", "role": "admin", "password": "long enough password"}
    assert client.post("/api/v1/users", json=body, headers=headers).status_code == 403
    assert client.put(f"/api/v1/users/{target}/scopes", json={"study_keys": None}, headers=headers).status_code == 403
    assert client.patch(f"/api/v1/users/{target}", json={"active": False, "reason": "x"},
                        headers=headers).status_code == 403
    wide = bearer(make_user("admin")[1])
    everything = client.post(f"/api/v1/users/{target}/tokens", json={}, headers=wide).get_json()
    assert client.delete(f"/api/v1/users/{target}/tokens/{everything['id']}", headers=headers).status_code == 403
    own = client.post(f"/api/v1/users/{target}/tokens", json={"study_keys": ["factorial-screening"]},
                      headers=headers).get_json()
    assert client.delete(f"/api/v1/users/{target}/tokens/{own['id']}", headers=headers).status_code == 200
    assert client.post("/api/v1/users", json=body, headers=wide).status_code == 201  # unscoped: as before
