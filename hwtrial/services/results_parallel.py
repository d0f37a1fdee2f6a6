"""Run the results aggregate queries concurrently on PostgreSQL, on one snapshot.

The aggregates are independent scans (participants, homework instances, events); one after
the other they cost their sum, on separate connections about the longest one. psycopg
releases the GIL while it waits for the server, so threads suffice.

Every worker connection imports the snapshot of the caller's transaction
(``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``), so all queries see the same
committed state, as one sequential transaction would. An imported snapshot does not see
the exporter's own uncommitted writes, so a transaction that has written anything (it has
a transaction id) runs the queries itself, sequentially. SQLite runs them sequentially.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

#: A named query: called with the session to read from.
Job = Callable[[Session], Any]
#: What ``pg_export_snapshot()`` returns, e.g. ``00000003-0000001B-1`` (checked because
#: ``SET TRANSACTION SNAPSHOT`` takes no bound parameter).
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+(-[0-9A-F]+)+$")


def exported_snapshot(session: Session) -> str | None:
    """The caller's snapshot id to share, or None when the queries must run in-session."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    snapshot, xid = session.execute(
        sa.text("SELECT pg_export_snapshot(), txid_current_if_assigned()")).one()
    if xid is not None or not _SNAPSHOT_ID.match(snapshot):
        return None
    return snapshot


def _run_group(engine: sa.Engine, snapshot: str, group: dict[str, Job]) -> dict[str, Any]:
    with engine.connect() as conn:
        # REPEATABLE READ: the imported snapshot is then kept for every statement
        conn.execution_options(isolation_level="REPEATABLE READ")
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        with Session(bind=conn) as session:
            out = {name: job(session) for name, job in group.items()}
        conn.rollback()
    return out


def run_queries(session: Session, groups: list[dict[str, Job]]) -> dict[str, Any]:
    """Results of every job by name; each group runs on its own connection in parallel.

    Parameters
    ----------
    session : Session
        The caller's session; its transaction stays open (its snapshot is shared).
    groups : list of dict
        Job name → callable taking a session; jobs in one group run one after the other.
    """
    snapshot = exported_snapshot(session)
    if snapshot is None or len(groups) < 2:
        return {name: job(session) for group in groups for name, job in group.items()}
    engine = session.get_bind()
    with ThreadPoolExecutor(len(groups), thread_name_prefix="hwtrial-results") as pool:
        futures = [pool.submit(_run_group, engine, snapshot, group) for group in groups]
        results = [future.result() for future in futures]
    return {name: value for part in results for name, value in part.items()}
