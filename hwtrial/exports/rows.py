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
    """Naive UTC (every hwtrial time is UTC; naive values skip a tz call per value)."""
    if value is None or value.__class__ is not datetime:
        return None if value is None else datetime.fromisoformat(value)  # SQLite: naive UTC text
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def iso_utc(value: datetime | None) -> str | None:
    """A naive UTC time as ISO 8601 with its offset, always with microseconds."""
    return None if value is None else value.isoformat(timespec="microseconds") + "+00:00"


def _iso_text(values: tuple) -> list:
    """Times as ISO 8601 text (CSV). SQLite's stored form ``YYYY-MM-DD HH:MM:SS.ffffff`` is
    rearranged, not parsed and formatted again; anything else goes through a datetime."""
    return [None if v is None else f"{v[:10]}T{v[11:]}+00:00" if v.__class__ is str and len(v) == 26
            else iso_utc(_datetime(v)) for v in values]


def _convert(kind: str, values: tuple, text_times: bool) -> list:
    if kind == "datetime":
        return _iso_text(values) if text_times else [_datetime(v) for v in values]
    if kind == "boolean":
        return [None if v is None else bool(int(v)) if v.__class__ is str else bool(v) for v in values]
    if kind == "integer":
        if all(v is None or v.__class__ is int for v in values):
            return list(values)
        return [None if v is None else int(v) for v in values]
    if kind == "number":
        return [None if v is None else float(v) for v in values]
    if all(v is None or v.__class__ is str for v in values):
        return list(values)
    return [None if v is None else v if isinstance(v, str) else _text(v) for v in values]


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stream(session: Session, table: Table, columns: list[Column], scope: Scope, study_id: int,
           chunk_rows: int = CHUNK_ROWS, text_times: bool = False) -> Iterator[dict[str, list]]:
    """Chunks of the table as ``{column name: values}`` (dates shifted when the scope says so).

    Times are naive UTC datetimes, or ISO 8601 text with ``text_times`` (what CSV writes:
    SQLite's stored text is rearranged instead of parsed and formatted again). Rows come as
    chunks of rows (:func:`_parts`).
    """
    dialect = session.get_bind().dialect.name
    result = session.execute(sa.text(select_sql(table, columns, scope, dialect)),
                             {"sid": study_id, "yes": True},
                             execution_options={"stream_results": True, "yield_per": chunk_rows})
    shift = scope.shift_key is not None and any(c.name == "participant_id" for c in columns)
    try:
        for part in _parts(result, dialect, chunk_rows):
            raw = list(zip(*part, strict=True))
            chunk = {c.name: _convert(c.type, raw[i], text_times and not shift) for i, c in enumerate(columns)}
            if shift:
                _shift(chunk, columns, scope, text_times)
            yield chunk
    finally:
        result.close()


def _parts(result, dialect: str, chunk_rows: int):
    """Lists of rows. SQLite: plain tuples from its cursor (no ``Row`` per row; it has no
    server-side cursor, so nothing is buffered ahead). Elsewhere SQLAlchemy's partitions: a
    server-side cursor result has already buffered its first rows, which the DBAPI cursor
    would skip."""
    if dialect == "sqlite":
        cursor = result.cursor
        while part := cursor.fetchmany(chunk_rows):
            yield part
    else:
        yield from result.partitions(chunk_rows)


def _shift(chunk: dict[str, list], columns: list[Column], scope: Scope, text_times: bool) -> None:
    offsets = [scope.shift(pid) if pid is not None else None for pid in chunk["participant_id"]]
    for c in columns:
        if c.type == "datetime":
            shifted = [None if v is None or d is None else v + d
                       for v, d in zip(chunk[c.name], offsets, strict=True)]
            chunk[c.name] = [iso_utc(v) for v in shifted] if text_times else shifted


def count(session: Session, table: Table, scope: Scope, study_id: int) -> int:
    dialect = session.get_bind().dialect.name
    return int(session.execute(sa.text(count_sql(table, scope, dialect)), {"sid": study_id, "yes": True}).scalar())
