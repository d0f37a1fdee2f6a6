"""Writers that take a table chunk by chunk: CSV and Parquet stream; SPSS and Stata spool.

Every writer is ``write(path, columns, chunks, meta) -> rows``. ``chunks`` yields
``{column name: values}`` (:func:`.rows.stream`), for CSV lists of row tuples in CSV form
(:func:`.rows.csv_rows`, listed in :data:`ROW_CHUNKS`); missing is ``None``.

- CSV: UTF-8, a header row, ``,`` separated, ``\\n`` line ends; times ISO 8601 in UTC
  (``2024-03-04T09:00:00.000000+00:00``); booleans ``1``/``0``; missing is the empty field.
- Parquet: one row group per chunk (``pyarrow.parquet.ParquetWriter``), typed columns
  (int64, float64, string, bool, timestamp[us, UTC]); labels in the field metadata.
- SPSS / Stata: :mod:`.labelled` (pyreadstat writes whole frames: chunks are spooled).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .spec import Column

#: Writers that take chunks of row tuples in CSV form (rows.csv_rows) rather than columns.
ROW_CHUNKS = {"csv"}
ARROW_TYPES = {"integer": pa.int64(), "number": pa.float64(), "string": pa.string(),
               "category": pa.string(), "boolean": pa.bool_(), "datetime": pa.timestamp("us", tz="UTC")}
Chunks = Iterable[dict[str, list]]


def write_csv(path: Path, columns: list[Column], chunks: Iterable[list[tuple]], meta: dict | None = None) -> int:
    """CSV from chunks of row tuples already in CSV form (:func:`hwtrial.exports.rows.csv_rows`)."""
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        for chunk in chunks:
            writer.writerows(chunk)
            rows += len(chunk)
    return rows


def arrow_schema(columns: list[Column], meta: dict | None = None) -> pa.Schema:
    fields = [pa.field(c.name, ARROW_TYPES[c.type], metadata={
        "label": c.label, "unit": c.unit, "source": c.source,
        **({"values": json.dumps(c.values, ensure_ascii=False)} if c.values else {})}) for c in columns]
    return pa.schema(fields, metadata={"hwtrial": json.dumps(meta or {}, sort_keys=True)})


def arrow_batch(schema: pa.Schema, columns: list[Column], chunk: dict[str, list]) -> pa.RecordBatch:
    return pa.record_batch([pa.array(chunk[c.name], type=ARROW_TYPES[c.type]) for c in columns], schema=schema)


def write_parquet(path: Path, columns: list[Column], chunks: Chunks, meta: dict | None = None) -> int:
    schema = arrow_schema(columns, meta)
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for chunk in chunks:
            batch = arrow_batch(schema, columns, chunk)
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def writer_for(fmt: str):
    from . import labelled

    return {"csv": write_csv, "parquet": write_parquet, "sav": labelled.write_sav,
            "dta": labelled.write_dta}[fmt]


#: Export formats and their file suffix and media type.
FORMATS = {"csv": ("csv", "text/csv; charset=utf-8"),
           "parquet": ("parquet", "application/vnd.apache.parquet"),
           "sav": ("sav", "application/x-spss-sav"),
           "dta": ("dta", "application/x-stata-dta")}
