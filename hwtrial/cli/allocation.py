"""``hwtrial allocation verify|export STUDY``: replay the allocation log; export the list."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ..extensions import get_session
from .common import committed


@click.group("allocation", help="Allocation log: replay from the stored seed, export.")
def allocation_group():
    pass


def verify_study(study_key: str):
    """Replay every allocation of ``study_key``; returns the :class:`VerifyReport`."""
    from ..services import allocation, studies

    study = studies.get_study(get_session(), None, study_key)
    return allocation.verify(get_session(), study)


@allocation_group.command("verify")
@click.argument("study_key")
@with_appcontext
def verify_command(study_key):
    """Re-derive every allocation from the seed and log; exit 1 on any mismatch."""

    report = committed(lambda: verify_study(study_key))
    for seq, stored, replayed in report.mismatches:
        click.echo(f"MISMATCH sequence_no {seq}: stored {stored!r}, replayed {replayed!r}", err=True)
    for problem in report.problems:
        click.echo(f"PROBLEM {problem}", err=True)
    if not report.ok:
        click.echo(f"{study_key}: {len(report.mismatches)} mismatch(es) in {report.n} allocations", err=True)
        sys.exit(1)
    click.echo(f"{study_key}: all {report.n} allocations replay from the stored seed")


def export_study(study_key: str) -> list[dict]:
    """The allocation list as the command-line operator (audited as ``cli``)."""
    from ..auth.principal import Principal
    from ..services import blinding, studies

    class _Operator(Principal):
        # Whoever can run the CLI can read the database: the export is audited, not refused.
        sees_arms = True
        actor = "cli"

    study = studies.get_study(get_session(), None, study_key)
    return blinding.export_rows(get_session(), _Operator(role="admin"), study)


@allocation_group.command("export")
@click.argument("study_key")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@with_appcontext
def export_command(study_key, fmt):
    """Print the unblinded allocation list (CSV or JSON); the export is audited."""
    from ..services.blinding import rows_as_csv

    rows = committed(lambda: export_study(study_key))
    click.echo(rows_as_csv(rows) if fmt == "csv" else json.dumps(rows, indent=2), nl=False)
