"""The codebook: one row per exported variable, as CSV and as a self-contained HTML page."""

from __future__ import annotations

import csv
import html
from pathlib import Path

from .spec import Column, Table, value_codes

HEADER = ("table", "variable", "type", "label", "values", "unit", "source", "flags")

#: What each type becomes in each format (also the codebook's preamble).
CONVENTIONS = (
    "Missing values: an empty field in CSV; null in Parquet; system-missing (numbers) or an empty string in "
    "SPSS; '.' (numbers) or an empty string in Stata.",
    "Times are UTC: ISO 8601 with microseconds and +00:00 in CSV, timestamp[us, UTC] in Parquet, DATETIME in SPSS, %tc in Stata. "
    "A date-shifted export moves every date of a participant by the same whole number of days.",
    "Booleans are 1/0 in CSV, bool in Parquet, 0/1 labelled no/yes in SPSS and Stata.",
    "Categories are the stored values in CSV and Parquet and codes 1, 2, ... with value labels in SPSS and Stata "
    "(the 'values' column lists code = value: label).",
    "A .sav/.dta table of more rows than the export's part size (HWTRIAL_EXPORT_PART_ROWS) is written as numbered "
    "parts (name.part001.sav, ...) with identical variables and labels: combine them with SPSS ADD FILES or Stata "
    "append (the commands are under the table below; the manifest lists the parts).",
    "Names have at most 32 characters (Stata). Variable labels are cut to 80 bytes, value labels to 120 bytes, "
    "Stata strings to 2,045 bytes and SPSS strings to 32,767 bytes.",
)


def value_text(column: Column) -> str:
    if column.type == "boolean":
        return "0 = no; 1 = yes"
    if not column.values:
        return ""
    codes = value_codes(column)
    return "; ".join(f"{codes[v]} = {v}" + (f": {label}" if label != v else "")
                     for v, label in column.values.items())


def rows(tables: list[tuple[Table, list[Column]]]) -> list[tuple[str, ...]]:
    return [(t.name, c.name, c.type, c.label, value_text(c), c.unit, c.source, ", ".join(sorted(c.flags)))
            for t, cols in tables for c in cols]


def write_csv(path: Path, tables: list[tuple[Table, list[Column]]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows(tables))


def write_html(path: Path, tables: list[tuple[Table, list[Column]]], title: str,
               parts: dict[str, dict[str, list[str]]] | None = None) -> None:
    """The codebook page; ``parts`` (table -> format -> files) lists tables written in parts
    with the SPSS / Stata commands that combine them."""
    from .labelled import combine_syntax

    esc = html.escape
    split = parts or {}
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
             "</head><body>", f"<h1>{esc(title)}</h1>", "<ul>"]
    parts += [f"<li>{esc(c)}</li>" for c in CONVENTIONS] + ["</ul>"]
    for table, cols in tables:
        parts.append(f"<h2 id=\"{esc(table.name)}\">{esc(table.name)}</h2><p>{esc(table.label)}</p>")
        parts += [f"<p>{esc(n)}</p>" for n in table.notes]
        for fmt, names in (split.get(table.name) or {}).items():
            local = [n.rsplit("/", 1)[-1] for n in names]
            parts.append(f"<p>{esc(fmt)}: {len(names)} parts ({esc(', '.join(local))}); combine with:</p>"
                         f"<pre>{esc(combine_syntax(fmt, local))}</pre>")
        parts.append("<table border=\"1\"><thead><tr>" + "".join(f"<th>{h}</th>" for h in HEADER[1:])
                     + "</tr></thead><tbody>")
        for row in rows([(table, cols)]):
            parts.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row[1:]) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    path.write_text("\n".join(parts), encoding="utf-8")
