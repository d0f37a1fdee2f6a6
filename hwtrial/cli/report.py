"""``hwtrial report STUDY --out report.html``: the trial report as one self-contained HTML file.

Run by the installation's operator, so unblinded (like ``hwtrial analyze``); ``--blinded``
writes the report a blinded statistician gets from the API.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from .common import read_only


def write_report(study: str, out: Path, *, blinded: bool = False) -> Path:
    """Build the report of ``study`` and write it to ``out`` (the function the command wraps)."""
    from ..api.report import report_html
    from ..auth.principal import Principal
    from ..extensions import get_session
    from ..services.report import build_report

    # a statistician without the unblinding right: what a blinded API caller is
    principal = Principal(role="statistician") if blinded else None
    html = read_only(lambda: report_html(build_report(get_session(), principal, study)))
    out.write_text(html, encoding="utf-8")
    return out


@click.command("report")
@click.argument("study")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=None, help="HTML file to write (default: STUDY-report.html).")
@click.option("--blinded", is_flag=True, help="Arm codes only, as a blinded statistician sees it.")
@with_appcontext
def report(study, out, blinded):
    """Write the trial report of STUDY (design, CONSORT, plots, results) as one HTML file."""
    out = out or Path(f"{study}-report.html")
    if out.parent and not out.parent.exists():
        raise click.ClickException(f"--out: the folder {out.parent} does not exist")
    write_report(study, out, blinded=blinded)
    click.echo(f"wrote {out}")
