"""``hwtrial export KEY --format csv,parquet,sav,dta --out DIR|FILE.zip``: the statistician's bundle.

Blinded and de-identified unless ``--unblinded`` / ``--identified`` are given (the operator
may give both); ``--date-shift DAYS`` moves each participant's dates back by up to DAYS.
A progress bar goes to a terminal's stderr; piped, the command prints only the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import get_session
from .common import committed


class _Bar:
    """A click progress bar over every table's rows (only on a terminal)."""

    def __init__(self):
        self.bar, self.table, self.seen = None, None, 0

    def __call__(self, table: str, done: int, total: int) -> None:
        if self.table != table:
            self.close()
            self.table, self.seen = table, 0
            self.bar = click.progressbar(length=max(total, 1), label=f"{table:<16}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.seen)
        self.seen = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command("export")
@click.argument("study_key")
@click.option("--format", "formats", default="csv,parquet", show_default=True,
              help="Comma-separated: csv, parquet, sav, dta.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="A directory (files) or FILE.zip (the bundle).")
@click.option("--unblinded", is_flag=True, help="Arm keys and arm-revealing tables (default: codes only).")
@click.option("--identified", is_flag=True, help="Include direct identifiers and free text.")
@click.option("--date-shift", "date_shift", type=click.IntRange(1, 3650), default=None,
              help="Shift each participant's dates back by 1..DAYS days (intervals kept).")
@with_appcontext
def export(study_key, formats, out, unblinded, identified, date_shift):
    """Write the export bundle of STUDY_KEY (audited with its SHA-256)."""
    from ..services.exports import ExportOptions, export_bundle

    if out.suffix != ".zip" and out.exists() and any(out.iterdir()):
        raise click.ClickException(f"--out {out}: the directory is not empty")
    bar = _Bar() if sys.stderr.isatty() else None
    options = ExportOptions(unblinded=unblinded, identified=identified, date_shift_days=date_shift)
    try:
        result = committed(lambda: export_bundle(get_session(), None, study_key, formats, options=options,
                                                 out=out, progress=bar))
    finally:
        if bar is not None:
            bar.close()
    rows = ", ".join(f"{t} {n}" for t, n in result.manifest["rows"].items())
    click.echo(f"{out}: {rows}; {result.manifest['excluded_withdrawn']['count']} withdrawn left out; "
               f"sha256 {result.sha256}")
