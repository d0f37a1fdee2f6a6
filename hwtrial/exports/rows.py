"""Rows of one declared table, streamed from the database in chunks.

The query runs on the raw DBAPI cursor of the session's connection (no SQLAlchemy ``Row``
per row): a named, server-side cursor on PostgreSQL (psycopg), SQLite's lazy cursor
elsewhere, read ``chunk_rows`` at a time with ``fetchmany``, so memory holds one chunk
whatever the table's size (:func:`fetch`).

- :func:`stream` gives chunks of columns (``{name: values}``) in Python types (naive UTC
  datetimes, bools, ints, floats, strings; ``None`` is missing): Parquet, SPSS, Stata.
- :func:`csv_rows` gives chunks of row tuples ready for ``csv.writer``: one precompiled
  converter per table turns each row's times into ISO 8601 text and booleans into 1/0 in a
  single comprehension (no transposing, no per-row dict), which keeps CSV close to a bare
  ``csv.writer`` over the same cursor (tests/bench/bench_exports.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
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


#: PostgreSQL formats a time as CSV writes it (ISO 8601 UTC with microseconds), in C.
PG_CSV_TIME = "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


#: PostgreSQL hands times over as naive UTC (psycopg then builds plain datetimes, with no
#: time zone to convert from in Python).
PG_NAIVE_UTC = "(({}) AT TIME ZONE 'UTC')"


def _expr(column: Column, dialect: str, csv: bool) -> str:
    expr = sql_text(column.sql, dialect) or column.name
    if dialect != "postgresql" or column.type != "datetime":
        return expr
    return (PG_CSV_TIME if csv else PG_NAIVE_UTC).format(expr)


def select_sql(table: Table, columns: list[Column], scope: Scope, dialect: str, csv: bool = False) -> str:
    """The table's query for ``scope``: visible columns; withdrawn data and blinded rows left out.

    On PostgreSQL times come as naive UTC (:data:`PG_NAIVE_UTC`), with ``csv`` as CSV text
    already (:data:`PG_CSV_TIME`): converting millions of aware datetimes in Python costs
    more than the rest of the export."""
    exprs = ", ".join(f'{_expr(c, dialect, csv)} AS "{c.name}"' for c in columns)
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


_CURSORS = itertools.count(1)


def fetch(session: Session, sql: str, params: dict, chunk_rows: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    """Lists of at most ``chunk_rows`` row tuples of ``sql`` (``:name`` parameters), read from
    the DBAPI cursor of the session's connection (its transaction).

    PostgreSQL: a named (server-side) psycopg cursor, so the server sends ``chunk_rows`` rows
    at a time and memory stays flat; SQLite: the plain cursor (it steps the statement lazily).
    """
    connection = session.connection()
    dbapi = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        compiled = sa.text(sql).compile(dialect=connection.dialect)
        cursor = dbapi.cursor(name=f"hwtrial_export_{next(_CURSORS)}")
        cursor.itersize = chunk_rows
        cursor.execute(str(compiled), compiled.construct_params(params))
    else:
        cursor = dbapi.cursor()
        cursor.arraysize = chunk_rows
        cursor.execute(sql, params)
    try:
        while part := cursor.fetchmany(chunk_rows):
            yield part
    finally:
        cursor.close()


def _query(session: Session, table: Table, columns: list[Column], scope: Scope, study_id: int,
           chunk_rows: int, csv: bool = False) -> Iterator[list[tuple]]:
    dialect = session.get_bind().dialect.name
    return fetch(session, select_sql(table, columns, scope, dialect, csv), {"sid": study_id, "yes": True},
                 chunk_rows)


def _shifts(scope: Scope, columns: list[Column]) -> bool:
    return scope.shift_key is not None and any(c.name == "participant_id" for c in columns)


def stream(session: Session, table: Table, columns: list[Column], scope: Scope, study_id: int,
           chunk_rows: int = CHUNK_ROWS, text_times: bool = False) -> Iterator[dict[str, list]]:
    """Chunks of the table as ``{column name: values}`` (dates shifted when the scope says so).

    Times are naive UTC datetimes, or ISO 8601 text with ``text_times`` (SQLite's stored
    text is rearranged instead of parsed and formatted again).
    """
    shift = _shifts(scope, columns)
    for part in _query(session, table, columns, scope, study_id, chunk_rows):
        raw = list(zip(*part, strict=True))
        chunk = {c.name: _convert(c.type, raw[i], text_times and not shift) for i, c in enumerate(columns)}
        if shift:
            _shift(chunk, columns, scope, text_times)
        yield chunk


def _csv_time(value) -> str | None:
    """A stored time as CSV text (the fast case, SQLite's 26-character text, is inlined)."""
    return iso_utc(_datetime(value)) if value is not None else None


#: Per type, the expression that makes value ``v`` what csv.writer should write (``v`` is
#: substituted by the row item). Inline expressions: no Python call per value but for times
#: that are not SQLite's stored text.
_CSV_EXPR = {
    "datetime": ("(None if {v} is None else {v}[:10] + 'T' + {v}[11:] + '+00:00' "
                 "if {v}.__class__ is str and len({v}) == 26 else _csv_time({v}))"),
    "boolean": "({v} if {v}.__class__ is int or {v} is None else int(int({v}) if {v}.__class__ is str else bool({v})))",
    "integer": "({v} if {v}.__class__ is int or {v} is None else int({v}))",
    "number": "({v} if {v}.__class__ is float or {v} is None else float({v}))",
    "string": "({v} if {v}.__class__ is str or {v} is None else _text({v}))",
    "category": "({v} if {v}.__class__ is str or {v} is None else _text({v}))",
}


def csv_converter(columns: list[Column], dialect: str = "sqlite") -> Callable[[list[tuple]], list[tuple]]:
    """One compiled function turning a chunk of raw rows into rows for ``csv.writer``
    (on PostgreSQL the query formats times itself: ``select_sql(csv=True)``)."""
    exprs = {**_CSV_EXPR, "datetime": "{v}"} if dialect == "postgresql" else _CSV_EXPR
    items = ", ".join(exprs[c.type].format(v=f"r[{i}]") for i, c in enumerate(columns))
    source = f"def convert(rows):\n    return [({items},) for r in rows]\n"
    namespace = {"_csv_time": _csv_time, "_text": _text}
    exec(compile(source, "<hwtrial.exports.rows.csv_converter>", "exec"), namespace)  # noqa: S102 (our own text)
    return namespace["convert"]


def csv_rows(session: Session, table: Table, columns: list[Column], scope: Scope, study_id: int,
             chunk_rows: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    """Chunks of rows as CSV writes them: times ISO 8601 UTC text, booleans 1/0, missing None."""
    if _shifts(scope, columns):  # date shifting works on datetimes: the columnar path
        for chunk in stream(session, table, columns, scope, study_id, chunk_rows, text_times=True):
            cols = [[None if v is None else int(v) for v in chunk[c.name]] if c.type == "boolean"
                    else chunk[c.name] for c in columns]
            yield list(zip(*cols, strict=True))
        return
    convert = csv_converter(columns, session.get_bind().dialect.name)
    for part in _query(session, table, columns, scope, study_id, chunk_rows, csv=True):
        yield convert(part)


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
