"""The standalone ``hwtrial`` console script: a plain click group, not Flask's ``flask`` CLI.

FlaskGroup would add ``--app``/``--env-file``, Flask's ``routes``/``shell``, a second copy of
the mounted ``hwtrial`` group and a ``--version`` about Flask; an operator needs none of it.
Commands that need the app build it with :func:`hwtrial.create_app` (through Flask's
``ScriptInfo``, so ``with_appcontext`` works unchanged); ``--help`` builds nothing.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version

import click
from flask import g
from flask.cli import ScriptInfo, run_command, with_appcontext
from flask_migrate import cli as migrate_cli

from .group import hwtrial_group


def _version() -> str:
    try:
        return version("hwtrial")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _create_app():
    from .. import create_app

    return create_app()


@click.group("hwtrial", help="hwtrial: randomised trials of psychotherapy-homework features.")
@click.version_option(_version(), "--version", prog_name="hwtrial", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx):
    if not isinstance(ctx.obj, ScriptInfo):  # tests may pass their own app in
        ctx.obj = ScriptInfo(create_app=_create_app)


@cli.group("db", help="The database schema: upgrade it, check it, show its revision.")
@with_appcontext
def db_group():
    # What Flask-Migrate's own `db` group sets up for its commands: the configured directory.
    g.directory = None
    g.x_arg = ()


# Flask-Migrate's own commands, bound to hwtrial's migrations/ by the extension. Only those
# an installation needs; the ones that write migration files live under `hwtrial dev db`.
for _name in ("upgrade", "check", "current", "history"):
    db_group.add_command(migrate_cli.db.commands[_name], _name)


@cli.group("dev", help="Developer commands (they write migration files; not for an installation).")
def dev_group():
    pass


dev_group.add_command(migrate_cli.db, "db")
cli.add_command(run_command, "run")
for _name, _command in hwtrial_group.commands.items():
    cli.add_command(_command, _name)


def main() -> None:
    """Console script ``hwtrial``. ``hwtrial demo`` runs with the demo configuration."""
    if len(sys.argv) > 1 and sys.argv[1] == "demo":
        os.environ.setdefault("HWTRIAL_ENV", "demo")
    from ..config import ConfigError

    try:
        cli(prog_name="hwtrial")
    except ConfigError as error:  # a refused configuration is a message, not a traceback
        click.echo(f"hwtrial: configuration error: {error}", err=True)
        sys.exit(2)
