"""``hwtrial audit verify``: the audit trail's hash chain and authenticated head."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..extensions import get_session


@click.group("audit", help="The audit trail.")
def audit_group():
    pass


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Check the hash chain and the authenticated head; report the first bad row."""
    from ..services import audit

    report = audit.verify(get_session())
    if report.ok:
        click.echo(f"audit trail intact: {report.entries} entries")
        return
    click.echo(f"audit trail BROKEN at seq {report.first_bad_seq}: {report.problem}", err=True)
    sys.exit(1)
