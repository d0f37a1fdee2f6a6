"""The stored audit trail: append-only in the database, verified by `hwtrial audit verify`,
and one unforked chain under concurrent appends from several processes."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa

from hwtrial.models import AuditEntry
from hwtrial.services import audit


def append(session, n: int, action: str = "test.action"):
    for i in range(n):
        audit.record(session, actor="user:1", action=action, target=f"thing:{i}", after={"i": i})
    session.commit()


def test_update_and_delete_are_refused_by_the_database(session):
    append(session, 2)
    for statement in ("UPDATE hwtrial_audit_entry SET actor = 'x'", "DELETE FROM hwtrial_audit_entry"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            session.execute(sa.text(statement))
        session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 2


def test_verify_cli_reports_first_bad_row(app, session, runner, backend):
    append(session, 5)
    result = runner.invoke(args=["hwtrial", "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output
    # An attacker with DDL rights switches the trigger off and edits row 3.
    conn = session.connection()
    if backend == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER hwtrial_audit_entry_no_update")
    else:
        conn.exec_driver_sql("ALTER TABLE hwtrial_audit_entry DISABLE TRIGGER hwtrial_audit_entry_no_change")
    conn.exec_driver_sql("UPDATE hwtrial_audit_entry SET target = 'thing:forged' WHERE seq = 3")
    session.commit()
    result = runner.invoke(args=["hwtrial", "audit", "verify"])
    assert result.exit_code == 1
    assert "seq 3" in result.output


def test_head_mac_needs_the_key(app, session):
    append(session, 3)
    with app.app_context():
        app.config["HWTRIAL_AUDIT_HMAC_KEY"] = "another-key"
        report = audit.verify(session)
    assert not report.ok and "MAC" in report.problem


def _appender(database_url: str, worker: int, count: int) -> None:
    from tests.conftest import make_app

    app = make_app(database_url)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        for i in range(count):
            audit.record(session, actor=f"worker:{worker}", action="concurrent", target=str(i))
            session.commit()


def test_concurrent_appends_from_processes_keep_one_chain(app, database_url, session):
    workers, per_worker = 4, 25
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_appender, args=(database_url, w, per_worker)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    report = audit.verify(session)
    assert report.ok, report.problem
    assert report.entries == workers * per_worker
    seqs = session.scalars(sa.select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs == list(range(1, workers * per_worker + 1))


def test_entries_are_chained_at_commit_and_dropped_on_rollback(session):
    audit.record(session, actor="user:1", action="kept", target="x")
    savepoint = session.begin_nested()
    savepoint.rollback()  # a savepoint rolled back inside the transaction keeps earlier entries
    session.commit()
    audit.record(session, actor="user:1", action="undone", target="y")
    session.rollback()
    session.commit()
    actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["kept"]
    assert audit.verify(session).ok


def test_head_file_catches_a_database_rolled_back_to_an_older_head(app, session, tmp_path, backend):
    """Deleting the newest entries and restoring an older, genuinely signed head passes the
    in-database checks; the head mirrored outside the database does not let it pass."""
    from hwtrial.models import AuditHead

    app.config["HWTRIAL_AUDIT_HEAD_FILE"] = str(tmp_path / "audit-head")
    append(session, 3)
    old = session.get(AuditHead, 1)
    saved = (old.seq, old.entry_hash, old.mac)
    append(session, 2)
    assert audit.verify(session).ok
    assert (tmp_path / "audit-head").read_text().split()[0] == "5"
    conn = session.connection()
    if backend == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER hwtrial_audit_entry_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE hwtrial_audit_entry DISABLE TRIGGER hwtrial_audit_entry_no_change")
    conn.exec_driver_sql("DELETE FROM hwtrial_audit_entry WHERE seq > 3")
    conn.execute(sa.text("UPDATE hwtrial_audit_head SET seq = :s, entry_hash = :h, mac = :m"),
                 {"s": saved[0], "h": saved[1], "m": saved[2]})
    session.commit()
    report = audit.verify(session)
    assert not report.ok and report.first_bad_seq == 4 and "head file" in report.problem
    app.config["HWTRIAL_AUDIT_HEAD_FILE"] = None
    assert audit.verify(session).ok  # without the mirror, this attack is invisible
