"""Aggregate queries on separate PostgreSQL connections see the caller's snapshot."""

import pytest
import sqlalchemy as sa

from hwtrial.services.results_parallel import run_queries

COUNT = sa.text("SELECT COUNT(*) FROM hwtrial_user")
PID = sa.text("SELECT pg_backend_pid()")


def _pid(session):
    return session.execute(PID).scalar() if session.get_bind().dialect.name == "postgresql" else 0


def test_groups_share_the_callers_snapshot(session, make_user, backend):
    if backend != "postgresql":
        pytest.skip("SQLite runs the queries in the caller's session (next test)")
    make_user("coordinator")
    before = session.execute(COUNT).scalar()
    engine = session.get_bind()

    def commit_elsewhere(_):
        with engine.begin() as conn:  # committed after the caller's snapshot was taken
            conn.execute(sa.text("INSERT INTO hwtrial_user (email, role, display_name, active, "
                                 "may_unblind, created_at) VALUES ('late@test.example', "
                                 "'coordinator', '', true, false, CURRENT_TIMESTAMP)"))

    got = run_queries(session, [{"pid_a": _pid},
                                {"write": commit_elsewhere,
                                 "count": lambda s: s.execute(COUNT).scalar(), "pid_b": _pid}])
    assert len({_pid(session), got["pid_a"], got["pid_b"]}) == 3
    assert got["count"] == before  # the later commit is invisible to the snapshot
    session.rollback()
    assert session.execute(COUNT).scalar() == before + 1


def test_uncommitted_writes_keep_the_queries_in_session(session, make_user):
    make_user("coordinator")
    session.execute(sa.text("UPDATE hwtrial_user SET display_name = 'changed'"))
    own = _pid(session)
    got = run_queries(session, [
        {"pid": _pid}, {"names": lambda s: s.execute(
            sa.text("SELECT DISTINCT display_name FROM hwtrial_user")).scalars().all()}])
    assert got == {"pid": own, "names": ["changed"]}
    session.rollback()
