"""Rows of one declared table, streamed from the database in chunks of columns.

The query runs with ``stream_results`` (a server-side cursor on PostgreSQL; SQLite's cursor
is lazy already) and is read ``chunk_rows`` at a time, so memory holds one chunk whatever
the table's size. Values are turned into Python types column by column: timezone-aware UTC
datetimes, bools, ints, floats and strings; ``None`` is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .privacy import Scope
from .spec import Column, Table, sql_text

CHUNK_ROWS = 20_000


def _from_where(table: Table, scope: Scope, dialect: str) -> str:
    where = [f"({sql_text(table.where_sql, dialect)})"]
    if table.participant_sql:
        where.append(f"NOT EXISTS (SELECT 1 FROM hwtrial_participant x WHERE x.id = {table.participant_sql} "
                     "AND x.exclude_data = :yes)")
    if not scope.sees_arms and table.blinded_where:
        where.append(f"({table.blinded_where})")
    return f"FROM {sql_text(table.from_sql, dialect)} WHERE {' AND '.join(where)}"


def select_sql(table: Table, columns: list[Column], scope: Scope, dialect: str) -> str:
    """The table's query for ``scope``: visible columns; withdrawn data and blinded rows left out."""
    exprs = ", ".join(f'{sql_text(c.sql, dialect) or c.name} AS "{c.name}"' for c in columns)
    return f"SELECT {exprs} {_from_where(table, scope, dialect)} ORDER BY {table.order_sql}"


def count_sql(table: Table, scope: Scope, dialect: str) -> str:
    return f"SELECT COUNT(*) {_from_where(table, scope, dialect)}"


def _datetime(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)  # SQLite: naive UTC text


def _convert(kind: str, values: tuple) -> list:
    if kind == "datetime":
        return [_datetime(v) for v in values]
    if kind == "boolean":
        return [None if v is None else bool(int(v)) if isinstance(v, str) else bool(v) for v in values]
    if kind == "integer":
        return [None if v is None else int(v) for v in values]
    if kind == "number":
        return [None if v is None else float(v) for v in values]
    return [None if v is None else v if isinstance(v, str) else _text(v) for v in values]


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stream(session: Session, table: Table, columns: list[Column], scope: Scope, study_id: int,
           chunk_rows: int = CHUNK_ROWS) -> Iterator[dict[str, list]]:
    """Chunks of the table as ``{column name: values}`` (dates shifted when the scope says so)."""
    dialect = session.get_bind().dialect.name
    result = session.execute(sa.text(select_sql(table, columns, scope, dialect)),
                             {"sid": study_id, "yes": True},
                             execution_options={"stream_results": True, "yield_per": chunk_rows})
    shift = scope.shift_key is not None and any(c.name == "participant_id" for c in columns)
    try:
        for part in result.partitions(chunk_rows):
            raw = list(zip(*part, strict=True))
            chunk = {c.name: _convert(c.type, raw[i]) for i, c in enumerate(columns)}
            if shift:
                _shift(chunk, columns, scope)
            yield chunk
    finally:
        result.close()


def _shift(chunk: dict[str, list], columns: list[Column], scope: Scope) -> None:
    offsets = [scope.shift(pid) if pid is not None else None for pid in chunk["participant_id"]]
    for c in columns:
        if c.type == "datetime":
            chunk[c.name] = [None if v is None or d is None else v + d
                             for v, d in zip(chunk[c.name], offsets, strict=True)]


def count(session: Session, table: Table, scope: Scope, study_id: int) -> int:
    dialect = session.get_bind().dialect.name
    return int(session.execute(sa.text(count_sql(table, scope, dialect)), {"sid": study_id, "yes": True}).scalar())
