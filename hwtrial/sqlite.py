"""SQLite connection settings that make it safe under concurrent writers.

WAL lets readers run beside one writer. A deferred transaction that later writes can fail
with SQLITE_BUSY or lose an update, so every transaction begins ``IMMEDIATE`` (the recipe in
SQLAlchemy's pysqlite documentation: take the BEGIN away from the driver and emit our own).
"""

from __future__ import annotations

import sqlalchemy as sa


def configure_sqlite_engine(engine: sa.Engine, busy_timeout_ms: int, *, immediate: bool = True) -> None:
    """Set the pragmas on every connection and make transactions begin ``IMMEDIATE``.

    ``immediate=False`` emits a plain deferred ``BEGIN``: only for the test-only negative
    control ``HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK``, which must let enrolments race.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_hwtrial_configured", False):
        return
    engine._hwtrial_configured = True  # type: ignore[attr-defined]

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
