"""Fixtures as tools: an app per test on a freshly migrated database, on SQLite and (when
``HWTRIAL_TEST_DATABASE_URL`` is set) on PostgreSQL; factories for users, tokens and studies."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from hwtrial import create_app
from hwtrial.config import normalise_database_url

REPO = Path(__file__).resolve().parent.parent
STUDIES = REPO / "studies"
PG_URL = os.environ.get("HWTRIAL_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("HWTRIAL_TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

#: Tables kept across tests (the migration's own bookkeeping).
KEEP_TABLES = {"hwtrial_alembic_version"}


def make_app(database_url: str, **extra):
    config = {
        "HWTRIAL_ENV": "testing",
        "HWTRIAL_SECRET_KEY": "test-secret-key-not-for-production",
        "HWTRIAL_DATABASE_URL": database_url,
        "HWTRIAL_STUDIES_DIR": str(STUDIES),
        "TESTING": True,
        # Results are computed on the request, however long it takes, unless a test of the
        # stored/stale path sets a budget (a loaded CI machine must not make pages stale).
        "HWTRIAL_RESULTS_INLINE_MS": 3_600_000,
        **extra,
    }
    return create_app(config)


def upgrade(app) -> None:
    from flask_migrate import upgrade as alembic_upgrade

    with app.app_context():
        alembic_upgrade(directory=app.config["HWTRIAL_MIGRATIONS_DIR"])


def create_pg_database(base_url: str, name: str) -> str:
    engine = sa.create_engine(normalise_database_url(base_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return str(sa.engine.make_url(normalise_database_url(base_url)).set(database=name)
               .render_as_string(hide_password=False))


def drop_pg_database(base_url: str, name: str) -> None:
    engine = sa.create_engine(normalise_database_url(base_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file; each test gets a copy (fast and fully isolated)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    app = make_app(f"sqlite:///{path}")
    upgrade(app)
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database():
    """One migrated PostgreSQL database per test session; tables are emptied between tests."""
    name = f"hwtrial_test_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(PG_URL, name)
    app = make_app(url)
    upgrade(app)
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()
    yield url
    drop_pg_database(PG_URL, name)


def reset_pg(app) -> None:
    """Empty every hwtrial table (triggers off for the append-only audit table) and re-seed."""
    with app.app_context():
        engine = app.extensions["hwtrial"].db.engine
        with engine.begin() as conn:
            names = [t for t in sa.inspect(conn).get_table_names()
                     if t.startswith("hwtrial_") and t not in KEEP_TABLES]
            conn.exec_driver_sql("SET session_replication_role = replica")
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
            conn.exec_driver_sql("SET session_replication_role = origin")
            # A tampering test may have switched the append-only triggers off.
            conn.exec_driver_sql("ALTER TABLE hwtrial_audit_entry ENABLE TRIGGER USER")
            conn.exec_driver_sql(
                "INSERT INTO hwtrial_audit_head (id, seq, entry_hash, mac) VALUES (1, 0, '"
                + "0" * 64 + "', '')")
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "hwtrial.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to add settings to the app under test."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    app = make_app(database_url, **app_config)
    if database_url.startswith("postgresql"):
        reset_pg(app)
    yield app
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """The app's session inside an app context (commit explicitly, as a request would)."""
    with app.app_context():
        yield app.extensions["hwtrial"].db.session


@pytest.fixture
def make_user(app):
    """Factory: ``make_user(role, email=None, password=None) -> (user_id, bearer_token)``."""
    from hwtrial.services import users

    def make(role: str, email: str | None = None, password: str | None = None, **kwargs):
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            user = users.create_user(session, "test", email=email or f"{role}-{uuid.uuid4().hex[:6]}@test.example",
                                     role=role, password=password, **kwargs)
            issued = users.issue_token(session, "test", user)
            session.commit()
            return user.id, issued.secret

    return make


@pytest.fixture
def bearer():
    def headers(token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def load_study(app):
    """Factory: ``load_study("reminder-rct", activate=True) -> study key`` from ``studies/``."""
    from hwtrial.services.loading import load_study_from_file

    def load(name: str, activate: bool = True) -> str:
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            study = load_study_from_file(session, "test", str(STUDIES / f"{name}.yaml"), activate=activate)
            session.commit()
            return study.key

    return load
