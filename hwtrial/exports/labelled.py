"""SPSS ``.sav`` and Stata ``.dta`` with variable and value labels (pyreadstat).

pyreadstat (1.3) writes a whole DataFrame and has no append mode, so the chunks are first
spooled to a temporary Parquet file (memory: one chunk) and then read back as one columnar
frame for pyreadstat: peak memory of these two formats grows with the rows of the largest
table (measured in tests/bench/bench_exports.py and the README), unlike CSV and Parquet.

Conventions (codebook and README):
- category columns are stored as codes 1, 2, … with value labels (the stored values);
  booleans as 0/1 labelled no/yes; datetimes as SPSS DATETIME / Stata %tc in UTC.
- missing numbers are system-missing (SPSS) / ``.`` (Stata); missing strings are empty.
- names are <= 32 characters (Stata); variable labels are cut to 80 bytes (Stata) and value
  labels to 120 bytes (SPSS); Stata strings are cut to 2,045 bytes (no strL), SPSS strings
  to 32,767.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat

from .spec import MAX_LABEL, MAX_VALUE_LABEL, Column, clip, value_codes
from .writers import Chunks, write_parquet

YES_NO = {0: "no", 1: "yes"}
STATA_STR, SPSS_STR = 2045, 32767


def _spool(columns: list[Column], chunks: Chunks, workdir: Path) -> tuple[pd.DataFrame, int]:
    spool = workdir / "spool.parquet"
    rows = write_parquet(spool, columns, chunks)
    table = pq.read_table(spool)
    spool.unlink()
    return table, rows


def _frame(columns: list[Column], table, max_str: int) -> tuple[pd.DataFrame, dict]:
    data, labels = {}, {}
    for c in columns:
        values = table.column(c.name).to_pandas()
        if c.type == "category":
            codes = value_codes(c)
            data[c.name] = values.map(codes).astype("float64")
            labels[c.name] = {code: clip(str(c.values[v]), MAX_VALUE_LABEL) for v, code in codes.items()}
        elif c.type == "boolean":
            data[c.name] = values.astype("float64")
            labels[c.name] = YES_NO
        elif c.type == "datetime":
            data[c.name] = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif c.type == "string":
            data[c.name] = values.astype(object).where(values.notna(), "").map(
                lambda s: s if len(s.encode()) <= max_str else clip(s, max_str))
        elif c.type == "integer":
            data[c.name] = values.astype("float64")
        else:
            data[c.name] = values.astype("float64")
    return pd.DataFrame(data, columns=[c.name for c in columns]), labels


def _labels(columns: list[Column]) -> dict[str, str]:
    return {c.name: clip(c.label, MAX_LABEL) for c in columns}


def write_sav(path: Path, columns: list[Column], chunks: Chunks, meta: dict | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="hwtrial-sav-") as tmp:
        table, rows = _spool(columns, chunks, Path(tmp))
        frame, labels = _frame(columns, table, SPSS_STR)
        del table
        pyreadstat.write_sav(frame, str(path), file_label=clip((meta or {}).get("label", ""), 64),
                             column_labels=_labels(columns), variable_value_labels=labels, row_compress=True)
    return rows


def write_dta(path: Path, columns: list[Column], chunks: Chunks, meta: dict | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="hwtrial-dta-") as tmp:
        table, rows = _spool(columns, chunks, Path(tmp))
        frame, labels = _frame(columns, table, STATA_STR)
        del table
        pyreadstat.write_dta(frame, str(path), file_label=clip((meta or {}).get("label", ""), 80),
                             column_labels=_labels(columns), variable_value_labels=labels)
    return rows
