"""A database restart or an unreachable rate-limit store answers 503 + Retry-After, not 500,
and requests recover on their own (issue 9)."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from hwtrial.config import normalise_database_url
from tests.conftest import PG_URL, create_pg_database, drop_pg_database, make_app, upgrade

ERROR_KEYS = {"code", "status", "message", "errors"}


def _admin_sql(statement: str, name: str) -> None:
    engine = sa.create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(statement.format(name=name))
    engine.dispose()


@pytest.fixture
def own_database():
    """A database of this test's own, so blocking it touches no other test or worker."""
    if not PG_URL:
        pytest.skip("needs HWTRIAL_TEST_DATABASE_URL (PostgreSQL)")
    name = f"hwtrial_down_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(PG_URL, name)
    yield name, url
    _admin_sql('ALTER DATABASE "{name}" ALLOW_CONNECTIONS true', name)
    drop_pg_database(PG_URL, name)


def test_database_going_away_is_503_then_recovers(own_database):
    name, url = own_database
    app = make_app(url)
    upgrade(app)
    from hwtrial.services import users

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        user = users.create_user(session, "test", email="a@test.example", role="admin")
        secret = users.issue_token(session, "test", user).secret
        session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # a pooled connection exists

    _admin_sql('ALTER DATABASE "{name}" ALLOW_CONNECTIONS false', name)
    _admin_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
               " WHERE datname = '{name}' AND pid <> pg_backend_pid()", name)
    for _ in range(2):  # the dead pooled connection, then a refused new one
        answer = client.get("/api/v1/me", headers=headers)
        assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
        assert set(answer.get_json()) == ERROR_KEYS and int(answer.headers["Retry-After"]) > 0
    page = app.test_client()
    page.set_cookie("hwtrial_session", "some-session-secret")
    answer = page.get("/staff")
    assert answer.status_code == 503 and "text/html" in answer.content_type
    assert int(answer.headers["Retry-After"]) > 0

    _admin_sql('ALTER DATABASE "{name}" ALLOW_CONNECTIONS true', name)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()


@pytest.fixture
def app_config():
    # Port 1 on loopback: nothing listens there, so every counter call fails to connect.
    return {"HWTRIAL_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:1/14"}


def test_unreachable_rate_limit_store_makes_sign_in_503(client, make_user):
    make_user("coordinator", email="c@test.example", password="correct horse battery")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"email": "c@test.example", "password": "correct horse battery",
                                         "csrf_token": token})
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert "hwtrial_session" not in answer.headers.get("Set-Cookie", "")
