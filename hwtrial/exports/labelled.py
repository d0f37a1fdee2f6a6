"""SPSS ``.sav`` and Stata ``.dta`` with variable and value labels (pyreadstat), in bounded parts.

pyreadstat (1.3) writes a whole DataFrame and has no append mode. To keep memory flat in the
number of rows, the chunks are first spooled to a temporary Parquet file (memory: one chunk;
the string widths are measured on the way) and read back ``part_rows`` rows at a time
(``HWTRIAL_EXPORT_PART_ROWS``, default :data:`PART_ROWS`): each batch becomes one file, so
memory holds one part whatever the table's size. A table of at most ``part_rows`` rows is one
file (``events.sav``); a larger one is numbered parts (``events.part001.sav``,
``events.part002.sav``, …) with the same variables, types, variable labels and value labels,
listed in the manifest (``parts``) and the codebook. Combine them with SPSS ``ADD FILES`` or
Stata ``append`` (README, Exports; :func:`combine_syntax`).

Conventions (codebook and README):
- category columns are stored as codes 1, 2, … with value labels (the stored values);
  booleans as 0/1 labelled no/yes; datetimes as SPSS DATETIME / Stata %tc in UTC.
- missing numbers are system-missing (SPSS) / ``.`` (Stata); missing strings are empty.
- names are <= 32 characters (Stata); variable labels are cut to 80 bytes (Stata) and value
  labels to 120 bytes (SPSS); Stata strings are cut to 2,045 bytes (no strL), SPSS strings
  to 32,767.
- SPSS string variables have the same width (bytes) in every part: the table's widest value
  (SPSS pads strings with blanks, so one value per part is blank-padded to that width, which
  SPSS and pyreadstat read as the same value). Stata keeps trailing blanks, so a Stata part's
  ``strN`` is that part's widest value; ``append`` widens strings as it combines parts.
"""

from __future__ import annotations

import ctypes
import gc
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

from .spec import MAX_LABEL, MAX_VALUE_LABEL, Column, clip, value_codes
from .writers import Chunks, arrow_batch, arrow_schema

YES_NO = {0: "no", 1: "yes"}
STATA_STR, SPSS_STR = 2045, 32767
#: Rows per file of a .sav/.dta table (``HWTRIAL_EXPORT_PART_ROWS``): what one part holds in memory.
PART_ROWS = 250_000


def part_paths(path: Path, n_parts: int) -> list[Path]:
    """The files of a table written in ``n_parts`` parts: ``path`` itself, or numbered parts."""
    if n_parts <= 1:
        return [path]
    return [path.with_name(f"{path.stem}.part{i:03d}{path.suffix}") for i in range(1, n_parts + 1)]


def written_files(path: Path) -> list[Path]:
    """The files a labelled writer wrote for ``path`` (itself, or its numbered parts)."""
    if path.exists():
        return [path]
    return sorted(path.parent.glob(f"{path.stem}.part[0-9][0-9][0-9]{path.suffix}"))


def combine_syntax(fmt: str, names: list[str]) -> str:
    """SPSS or Stata commands that stack the parts ``names`` (file names) into one data set."""
    if fmt == "sav":
        return "ADD FILES " + " ".join(f"/FILE='{n}'" for n in names) + ".\nEXECUTE."
    return f'use "{names[0]}", clear\n' + "".join(f'append using "{n}"\n' for n in names[1:])


def _spool(columns: list[Column], chunks: Chunks, spool: Path, max_str: int) -> tuple[int, dict[str, int]]:
    """Chunks to a Parquet spool; returns the rows and each string column's widest value
    (UTF-8 bytes, cut at ``max_str``)."""
    schema = arrow_schema(columns)
    strings = [c.name for c in columns if c.type == "string"]
    widths = dict.fromkeys(strings, 1)
    rows = 0
    with pq.ParquetWriter(spool, schema, compression="zstd") as writer:
        for chunk in chunks:
            batch = arrow_batch(schema, columns, chunk)
            for name in strings:
                longest = pc.max(pc.binary_length(batch.column(name))).as_py()
                widths[name] = min(max(widths[name], longest or 0), max_str)
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows, widths


def _batches(spool: Path, part_rows: int) -> Iterator[pa.Table]:
    """The spool ``part_rows`` rows at a time (row groups joined and split as needed)."""
    buffered, n = [], 0
    for batch in pq.ParquetFile(spool).iter_batches(batch_size=min(part_rows, 65_536)):
        buffered.append(batch)
        n += batch.num_rows
        while n >= part_rows:
            table = pa.Table.from_batches(buffered)
            yield table.slice(0, part_rows)
            rest = table.slice(part_rows)
            buffered, n = rest.to_batches(), rest.num_rows
    if n:
        yield pa.Table.from_batches(buffered)


def _cut(s: str, max_str: int) -> str:
    return s if len(s) * 4 <= max_str or len(s.encode()) <= max_str else clip(s, max_str)


def _frame(columns: list[Column], table: pa.Table, max_str: int,
           pad: dict[str, int] | None = None) -> tuple[pd.DataFrame, dict]:
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
            text = values.astype(object).where(values.notna(), "").map(lambda s: _cut(s, max_str))
            if pad and len(text):  # one value blank-padded to the table's width (SPSS: same value)
                first = text.iat[0]
                text.iat[0] = first + " " * (pad[c.name] - len(first.encode()))
            data[c.name] = text
        else:
            data[c.name] = values.astype("float64")
    return pd.DataFrame(data, columns=[c.name for c in columns]), labels


def _labels(columns: list[Column]) -> dict[str, str]:
    return {c.name: clip(c.label, MAX_LABEL) for c in columns}


def _release() -> None:
    """Hand a written part's memory back before the next part is built: collect its objects
    and, on glibc, return freed heap pages to the system (without this the C heap's
    fragmentation lets each part's peak creep above the last's)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    pa.default_memory_pool().release_unused()


def _write(fmt: str, path: Path, columns: list[Column], chunks: Chunks, meta: dict | None) -> int:
    meta = meta or {}
    part_rows = max(1, int(meta.get("part_rows") or PART_ROWS))
    max_str = SPSS_STR if fmt == "sav" else STATA_STR
    with tempfile.TemporaryDirectory(prefix=f"hwtrial-{fmt}-") as tmp:
        spool = Path(tmp) / "spool.parquet"
        rows, widths = _spool(columns, chunks, spool, max_str)
        n_parts = max(1, math.ceil(rows / part_rows))
        paths = part_paths(path, n_parts)
        tables = _batches(spool, part_rows) if rows else iter([pq.read_table(spool)])
        for i, (target, table) in enumerate(zip(paths, tables, strict=True)):
            frame, labels = _frame(columns, table, max_str, widths if fmt == "sav" else None)
            del table
            label = meta.get("label", "") + (f" (part {i + 1} of {n_parts})" if n_parts > 1 else "")
            if fmt == "sav":
                pyreadstat.write_sav(frame, str(target), file_label=clip(label, 64), column_labels=_labels(columns),
                                     variable_value_labels=labels, row_compress=True)
            else:
                pyreadstat.write_dta(frame, str(target), file_label=clip(label, 80),
                                     column_labels=_labels(columns), variable_value_labels=labels)
            del frame
            _release()
    return rows


def write_sav(path: Path, columns: list[Column], chunks: Chunks, meta: dict | None = None) -> int:
    """SPSS: ``path``, or its numbered parts when the table has more than ``meta["part_rows"]`` rows."""
    return _write("sav", path, columns, chunks, meta)


def write_dta(path: Path, columns: list[Column], chunks: Chunks, meta: dict | None = None) -> int:
    """Stata: ``path``, or its numbered parts when the table has more than ``meta["part_rows"]`` rows."""
    return _write("dta", path, columns, chunks, meta)
