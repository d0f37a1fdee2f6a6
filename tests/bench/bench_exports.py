"""Benchmark: export every table per format vs plain ``csv.writer`` over the same query (not a test).

For each format, a fresh subprocess connects, measures its baseline RSS, writes every table
of the default (blinded) export with :func:`hwtrial.exports.bundle.write_table`, and reports
the wall time and the growth of peak RSS (``VmHWM``) over the baseline. The reference is the
same rows written by ``csv.writer`` straight from the DBAPI cursor of the same SELECT (one
query per table, ``fetchmany``), also in its own process. Run on two sizes made by
``gen_study_data.py`` to see whether memory grows with rows::

    .venv/bin/python tests/bench/gen_study_data.py --url sqlite:////tmp/b25.sqlite3 --scale 0.25 --events-per-instance 2
    .venv/bin/python tests/bench/gen_study_data.py --url sqlite:////tmp/b100.sqlite3 --scale 1 --events-per-instance 2
    .venv/bin/python tests/bench/bench_exports.py --url sqlite:////tmp/b25.sqlite3 --url sqlite:////tmp/b100.sqlite3

PostgreSQL the same way (the export reads through a server-side cursor, so does the baseline)::

    .venv/bin/python tests/bench/gen_study_data.py --url postgresql://postgres@127.0.0.1:5432/hwtrial_bench_exp \
        --scale 0.25 --events-per-instance 2
    .venv/bin/python tests/bench/bench_exports.py --database-url postgresql://postgres@127.0.0.1:5432/hwtrial_bench_exp

``HWTRIAL_EXPORT_PART_ROWS`` (environment) sets the rows per .sav/.dta part; ``--parts``
prints each table's peak and each part's own peak.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

FORMATS = ("csv", "parquet", "sav", "dta")
REPO = Path(__file__).resolve().parents[2]


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Start the peak-RSS count from now (Linux: writing 5 to clear_refs resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def child(url: str, key: str, mode: str) -> dict:
    from hwtrial import create_app
    from hwtrial.config import normalise_database_url
    from hwtrial.exports import bundle, labelled, rows
    from hwtrial.exports.privacy import Scope
    from hwtrial.models import Study

    # Each .sav/.dta part's own peak (the peak is reset after each): flat parts mean memory is
    # bounded by the part size, whatever the number of rows.
    part_peaks: list[float] = []
    release = labelled._release

    def traced_release() -> None:
        part_peaks.append(round((peak_rss_kb() - base) / 1024, 1))
        release()
        reset_peak()

    labelled._release = traced_release
    app = create_app({"HWTRIAL_ENV": "testing", "HWTRIAL_DATABASE_URL": normalise_database_url(url)})
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        session = app.extensions["hwtrial"].db.session
        study = session.scalar(sa.select(Study).where(Study.key == key))
        plan = bundle.plan(study, Scope(), part_rows=app.config["HWTRIAL_EXPORT_PART_ROWS"])
        dialect = session.get_bind().dialect.name
        session.execute(sa.text("SELECT 1"))
        reset_peak()
        base = peak_rss_kb()
        start = time.perf_counter()
        counts, peaks, parts = {}, {}, {}
        for table, columns in plan.tables:
            reset_peak()
            del part_peaks[:]
            path = Path(tmp) / f"{table.name}.{mode}"
            if mode in ("plain", "plain-csv-sql"):
                # plain-csv-sql: the CSV export's own SELECT (PostgreSQL formats its times)
                sql = rows.select_sql(table, columns, plan.scope, dialect, csv=mode == "plain-csv-sql")
                with open(path, "w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle, lineterminator="\n")
                    writer.writerow([c.name for c in columns])
                    n = 0
                    # the same SELECT through the same DBAPI cursor as the export (rows.fetch:
                    # server-side on PostgreSQL), written as it comes
                    for batch in rows.fetch(session, sql, {"sid": study.id, "yes": True}, rows.CHUNK_ROWS):
                        writer.writerows(batch)
                        n += len(batch)
                counts[table.name] = n
            else:
                counts[table.name] = bundle.write_table(session, plan, table, columns, mode, path)
            peaks[table.name] = max([round((peak_rss_kb() - base) / 1024, 1), *part_peaks])
            if len(part_peaks) > 1:
                parts[table.name] = list(part_peaks)
        elapsed = time.perf_counter() - start
        return {"mode": mode, "seconds": round(elapsed, 2), "peak_rss_growth_mb": max(peaks.values(), default=0.0),
                "rows": counts, "table_peaks_mb": peaks, "part_peaks_mb": parts}


def run(url: str, key: str, mode: str) -> dict:
    # the child imports hwtrial from this checkout (a script's own folder comes first on sys.path)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url, "--key", key],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", "--database-url", dest="url", action="append", required=True,
                    help="SQLite or PostgreSQL URL (repeat for several databases)")
    ap.add_argument("--key", default="bench-rct")
    ap.add_argument("--child", default=None)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--parts", action="store_true",
                    help="also print each table's peak and each .sav/.dta part's own peak (MB over the start)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.url[0], args.key, args.child)))
        return
    for url in args.url:
        plain = run(url, args.key, "plain")
        total = sum(plain["rows"].values())
        print(f"\n{url}: {total:,} rows ({', '.join(f'{t} {n:,}' for t, n in plain['rows'].items())})")
        print(f"  {'plain csv.writer':<18}{plain['seconds']:>8.1f} s  x1.00  peak RSS +{plain['peak_rss_growth_mb']} MB")
        if url.startswith("postgresql"):  # the CSV export's SELECT differs there: its own reference
            ref = run(url, args.key, "plain-csv-sql")
            print(f"  {'plain, CSV SELECT':<18}{ref['seconds']:>8.1f} s  x{ref['seconds'] / plain['seconds']:.2f}  "
                  f"peak RSS +{ref['peak_rss_growth_mb']} MB", flush=True)
        for fmt in args.formats.split(","):
            got = run(url, args.key, fmt)
            assert got["rows"] == plain["rows"], (got["rows"], plain["rows"])
            print(f"  {fmt:<18}{got['seconds']:>8.1f} s  x{got['seconds'] / plain['seconds']:.2f}  "
                  f"peak RSS +{got['peak_rss_growth_mb']} MB", flush=True)
            if args.parts:
                print("    peak by table: " + ", ".join(f"{t} +{mb}" for t, mb in got["table_peaks_mb"].items()))
                for name, peaks in got["part_peaks_mb"].items():
                    print(f"    {name}, {len(peaks)} parts: " + " ".join(f"+{mb}" for mb in peaks))


if __name__ == "__main__":
    main()
