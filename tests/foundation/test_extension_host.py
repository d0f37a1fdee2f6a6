"""hwtrial mounted in a host app that has its own Flask-SQLAlchemy instance and tables."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hwtrial import HWTrial


class HostBase(DeclarativeBase):
    pass


class Client(HostBase):
    """A host platform's own table (a therapy app's clients)."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def make_host(tmp_path, database_url=None, **config):
    app = Flask("therapy_host", instance_path=str(tmp_path / "instance"))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url or f"sqlite:///{tmp_path / 'host.sqlite3'}",
        HWTRIAL_ENV="testing",
        HWTRIAL_SECRET_KEY="host-secret",
        HWTRIAL_URL_PREFIX="/trials",
        TESTING=True,
        **config,
    )
    host_db = SQLAlchemy(model_class=HostBase)
    host_db.init_app(app)

    @app.route("/clients")
    def clients():
        return {"clients": [c.name for c in host_db.session.scalars(sa.select(Client))]}

    return app, host_db


def test_host_and_hwtrial_tables_side_by_side(tmp_path, make_user=None):
    from tests.conftest import upgrade

    app, host_db = make_host(tmp_path)
    ext = HWTrial()
    ext.init_app(app, db=host_db)
    with app.app_context():
        host_db.create_all()  # the host manages its own tables its own way
    upgrade(app)  # hwtrial's tables through hwtrial's migrations
    with app.app_context():
        names = set(sa.inspect(host_db.engine).get_table_names())
        assert "clients" in names and "hwtrial_study" in names and "hwtrial_alembic_version" in names
        host_db.session.add(Client(name="Ada"))
        from hwtrial.services import users

        user = users.create_user(host_db.session, "test", email="c@host.example", role="coordinator")
        token = users.issue_token(host_db.session, "test", user).secret
        host_db.session.commit()
    client = app.test_client()
    assert client.get("/clients").get_json() == {"clients": ["Ada"]}
    answer = client.get("/trials/api/v1/studies/", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.get_json() == []
    assert client.get("/trials/api/v1/openapi.json").status_code == 200
    # the host's 404 stays the host's; hwtrial's API paths answer JSON
    assert client.get("/trials/api/v1/nothing").get_json()["code"] == 404
    with app.app_context():
        host_db.engine.dispose()


def test_second_registration_is_refused(tmp_path):
    app, host_db = make_host(tmp_path)
    HWTrial(app, db=host_db)
    with pytest.raises(RuntimeError, match="already registered"):
        HWTrial(app, db=host_db)


def test_config_set_with_setdefault_keeps_host_values(tmp_path):
    app, host_db = make_host(tmp_path)
    app.config["HWTRIAL_SESSION_HOURS"] = 2
    HWTrial(app, db=host_db)
    assert app.config["HWTRIAL_SESSION_HOURS"] == 2
    assert app.config["HWTRIAL_PARTICIPANT_LINK_DAYS"] == 180
    assert "hwtrial" in app.extensions


def test_cli_group_is_registered(tmp_path):
    app, host_db = make_host(tmp_path)
    HWTrial(app, db=host_db)
    result = app.test_cli_runner().invoke(args=["hwtrial", "--help"])
    assert result.exit_code == 0 and "studies" in result.output and "audit" in result.output


def _host_autogenerate_diff(app, host_db, include_object):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), host_db.engine.connect() as conn:
        opts = {"include_object": include_object} if include_object else {}
        return compare_metadata(MigrationContext.configure(conn, opts=opts), HostBase.metadata)


def test_host_autogenerate_leaves_hwtrial_tables_alone_with_the_filter(tmp_path):
    from hwtrial.migrations_filter import include_object
    from tests.conftest import upgrade

    app, host_db = make_host(tmp_path)
    HWTrial(app, db=host_db)
    with app.app_context():
        host_db.create_all()
    upgrade(app)
    unfiltered = _host_autogenerate_diff(app, host_db, None)
    assert any(d[0] == "remove_table" and d[1].name.startswith("hwtrial_") for d in unfiltered)
    filtered = _host_autogenerate_diff(app, host_db, include_object)
    assert filtered == []  # nothing of hwtrial's (tables, indexes, constraints), host in sync
    with app.app_context():
        host_db.engine.dispose()


def _host_with_participant(tmp_path, **config):
    """A host app with hwtrial on its db, the reminder RCT active and one demo participant."""
    from hwtrial.services.enrolment import demo_enrolment
    from hwtrial.services.loading import load_study_from_file
    from tests.conftest import STUDIES, upgrade

    app, host_db = make_host(tmp_path, **config)
    trials = HWTrial(app, db=host_db)
    with app.app_context():
        host_db.create_all()
    upgrade(app)
    with app.app_context():
        study = load_study_from_file(host_db.session, "test", str(STUDIES / "reminder-rct.yaml"),
                                     activate=True)
        demo_enrolment(host_db.session, study, "http://host.example")
        key = study.key
        host_db.session.commit()
    return app, host_db, trials, key


def test_features_for_leaves_the_hosts_transaction_alone(tmp_path):
    from hwtrial.errors import ServiceError
    from hwtrial.models import FeatureExposure

    app, host_db, trials, key = _host_with_participant(tmp_path)
    with app.app_context():
        host_db.session.add(Client(name="Grace"))
        features = trials.features_for(key, "demo-participant")
        assert features  # the arm's flags
        host_db.session.rollback()  # the host changes its mind
        assert host_db.session.scalars(sa.select(Client)).all() == []  # was committed by hwtrial
        assert host_db.session.scalars(sa.select(FeatureExposure)).all()  # hwtrial's row stays
        host_db.session.rollback()  # end the reads: on SQLite an open transaction holds the lock

        host_db.session.add(Client(name="Ada"))
        with pytest.raises(ServiceError):
            trials.features_for(key, "nobody")
        host_db.session.commit()  # the host's pending work survived hwtrial's error
        assert [c.name for c in host_db.session.scalars(sa.select(Client))] == ["Ada"]
        host_db.engine.dispose()


def test_host_python_api_enrols_records_events_and_withdraws(tmp_path):
    from hwtrial.errors import ServiceError
    from hwtrial.models import AuditEntry, Event

    app, host_db, trials, key = _host_with_participant(tmp_path)
    body = {"external_id": "host-user-1", "strata": {"site": "north", "severity": "mild"},
            "consent": {"version": "2.1"}, "timezone": "Europe/London"}
    with app.app_context():
        host_db.session.add(Client(name="Grace"))  # the host's pending work
        done = trials.enrol(key, body)
        assert done["created"] and done["external_id"] == "host-user-1" and done["link"].startswith("http")
        assert done["arm"] in ("control", "reminders") and "reminders" in done["features"]
        again = trials.enrol(key, body)
        assert not again["created"] and again["id"] == done["id"] and again["arm"] == done["arm"]
        with pytest.raises(ServiceError) as refused:
            trials.enrol(key, {**body, "external_id": "host-user-2", "consent": True})
        assert refused.value.status == 422 and "consent._schema" in refused.value.errors
        stored = trials.record_events(key, [{"id": "e-1", "participant": done["id"], "type": "opened",
                                             "client_time": "2026-06-01T10:00:00Z"}])
        assert stored["accepted"] == 1
        assert trials.record_events(key, [{"id": "e-1", "participant": done["id"], "type": "opened",
                                           "client_time": "2026-06-01T10:00:00Z"}])["accepted"] == 1
        with pytest.raises(ServiceError) as bad:
            trials.record_events(key, "not a list")
        assert bad.value.status == 422
        left = trials.withdraw(key, "host-user-1", reason="moved away")
        assert left["status"] == "withdrawn"
        assert trials.features_for(key, "host-user-1") == {"status": "withdrawn"}
        with pytest.raises(ServiceError) as twice:
            trials.withdraw(key, done["id"], reason="again")
        assert twice.value.status == 409
        host_db.session.rollback()  # the host changes its mind: hwtrial's work stays
        assert host_db.session.scalars(sa.select(Client)).all() == []
        assert host_db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1
        actors = set(host_db.session.scalars(sa.select(AuditEntry.actor)))
        assert "host-app" in actors
        host_db.session.rollback()
        host_db.engine.dispose()


def test_the_hosts_own_sqlite_engine_is_left_alone_unless_asked(tmp_path):
    def settings(app, host_db):
        """journal mode, foreign keys and how a transaction begins on the host's engine."""
        begins = []
        with app.app_context():
            engine = host_db.engine

            @sa.event.listens_for(engine, "before_cursor_execute")
            def seen(_conn, _cursor, statement, *_args):
                if statement.upper().startswith("BEGIN"):
                    begins.append(statement.upper())

            with engine.begin() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
                keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
            sa.event.remove(engine, "before_cursor_execute", seen)
            engine.dispose()
        return mode, keys, begins

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    app, host_db = make_host(tmp_path / "a")
    HWTrial(app, db=host_db)
    assert settings(app, host_db) == ("delete", 0, [])  # SQLite's defaults, the driver's BEGIN
    app, host_db = make_host(tmp_path / "b")
    app.config["HWTRIAL_CONFIGURE_HOST_SQLITE"] = True
    HWTrial(app, db=host_db)
    assert settings(app, host_db) == ("wal", 1, ["BEGIN IMMEDIATE"])


def test_on_sqlite_the_hosts_flushed_writes_hold_the_lock_hwtrial_needs(tmp_path):
    """The README's SQLite caveat: hwtrial's own session is a second connection, and SQLite has
    one writer, so a call made while the host's session holds flushed, uncommitted writes waits
    for that lock and fails; once the host commits, the same call goes through."""
    from sqlalchemy.exc import OperationalError

    # sqlite3 waits 5 s for a lock by default; the host's engine (hwtrial's too) waits 0.2 s.
    options = {"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 0.2}}}
    app, host_db, trials, key = _host_with_participant(tmp_path, **options)
    with app.app_context():
        host_db.session.add(Client(name="Grace"))
        host_db.session.flush()  # the host's INSERT has taken SQLite's write lock
        with pytest.raises(OperationalError, match="database is locked"):
            trials.features_for(key, "demo-participant")
        host_db.session.commit()
        assert trials.features_for(key, "demo-participant")  # the lock is free again
        assert [c.name for c in host_db.session.scalars(sa.select(Client))] == ["Grace"]
        host_db.session.rollback()
        host_db.engine.dispose()
