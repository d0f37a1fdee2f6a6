"""SQLite is configured for concurrent writers: WAL, foreign keys, busy timeout, FULL sync,
and BEGIN IMMEDIATE so that read-modify-write transactions from many processes lose nothing."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa

from tests.conftest import make_app


@pytest.fixture
def sqlite_app(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}")
    yield app
    with app.app_context():
        app.extensions["hwtrial"].db.engine.dispose()


def test_pragmas(sqlite_app):
    with sqlite_app.app_context():
        with sqlite_app.extensions["hwtrial"].db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_foreign_keys_are_enforced(sqlite_app):
    from hwtrial.models import StudyVersion

    with sqlite_app.app_context():
        session = sqlite_app.extensions["hwtrial"].db.session
        session.add(StudyVersion(study_id=999, version=1, definition={}, reason=""))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def _increment(url: str, times: int) -> None:
    """Read a counter, then write it back + 1: a lost update under deferred transactions."""
    app = make_app(url)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        for _ in range(times):
            value = session.execute(sa.text("SELECT seq FROM hwtrial_audit_head WHERE id = 1")).scalar()
            session.execute(sa.text("UPDATE hwtrial_audit_head SET seq = :v WHERE id = 1"), {"v": value + 1})
            session.commit()


def test_read_modify_write_from_processes_loses_no_update(sqlite_app):
    url = sqlite_app.config["HWTRIAL_DATABASE_URL"]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(url, 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with sqlite_app.app_context():
        session = sqlite_app.extensions["hwtrial"].db.session
        assert session.execute(sa.text("SELECT seq FROM hwtrial_audit_head")).scalar() == 200
