"""The ``hwtrial`` command line: every command wraps a plain, importable function.

Standalone: ``hwtrial <command>`` (a FlaskGroup over :func:`hwtrial.create_app`, with ``run``
and Flask-Migrate's ``db``). Mounted in a host app: ``flask hwtrial <command>``.
"""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from .errors import ServiceError
from .extensions import get_session


def fail(message: str, errors: dict | None = None) -> None:
    lines = [message] + [f"  {path}: {'; '.join(msgs)}" for path, msgs in (errors or {}).items()]
    raise click.ClickException("\n".join(lines))


def committed(func):
    """Run ``func`` and commit once; a ServiceError becomes a readable CLI error."""
    try:
        result = func()
        get_session().commit()
        return result
    except ServiceError as error:
        get_session().rollback()
        fail(error.message, error.errors)


@click.group("hwtrial", help="hwtrial: randomised trials of homework features.")
def hwtrial_group():
    pass


@hwtrial_group.group("studies", help="Validate and load study definitions.")
def studies_group():
    pass


@studies_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
def studies_validate(paths):
    """Validate study files; print every problem with file, path and line."""
    from .studydef import validate_paths

    problems = validate_paths(paths)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{len(paths)} study file(s) valid")


@studies_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--activate", is_flag=True, help="Activate the study after loading it.")
@with_appcontext
def studies_load(path, activate):
    """Create a draft study from a study file (optionally activate it)."""
    from .services.loading import load_study_from_file

    study = committed(lambda: load_study_from_file(get_session(), "cli", path, activate=activate))
    click.echo(f"loaded {study.key} (version {study.current_version}, {study.status})")


@hwtrial_group.group("users", help="Staff accounts.")
def users_group():
    pass


@users_group.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "therapist", "statistician"]))
@click.option("--email", required=True)
@click.option("--password", default=None, help="Web sign-in password (omit for an API-only account).")
@click.option("--may-unblind", is_flag=True, help="Let this user see arm labels.")
@with_appcontext
def users_create(role, email, password, may_unblind):
    """Create a staff account and print a one-time API token."""
    from .services import users

    def work():
        user = users.create_user(get_session(), "cli", email=email, role=role, password=password,
                                 may_unblind=may_unblind)
        return users.issue_token(get_session(), "cli", user, label="created by CLI")

    issued = committed(work)
    click.echo(f"created {role} {email}")
    click.echo(f"API token (shown once): {issued.secret}")


@hwtrial_group.group("audit", help="The audit trail.")
def audit_group():
    pass


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Check the hash chain and the authenticated head; report the first bad row."""
    from .services import audit

    report = audit.verify(get_session())
    if report.ok:
        click.echo(f"audit trail intact: {report.entries} entries")
        return
    click.echo(f"audit trail BROKEN at seq {report.first_bad_seq}: {report.problem}", err=True)
    sys.exit(1)


@hwtrial_group.group("recruitment", help="Recruitment platforms.")
def recruitment_group():
    pass


@recruitment_group.command("url")
@click.argument("key")
@click.option("--base-url", default=None, help="Public root of the service (default: HWTRIAL_PUBLIC_URL).")
@click.option("--stratum", "strata", multiple=True, metavar="FACTOR=LEVEL", help="Fixed strata of this link.")
@with_appcontext
def recruitment_url(key, base_url, strata):
    """Print the study URL to paste into Prolific (it carries the study's entry token)."""
    from .services.recruitment import entry_study, entry_token, study_url
    from .services.studies import get_study

    def work():
        study = get_study(get_session(), None, key)
        entry_study(get_session(), key, entry_token(study))  # 404 without a recruitment section
        root = base_url or current_app.config["HWTRIAL_PUBLIC_URL"] or "http://127.0.0.1:5000"
        return study_url(study, root, dict(s.partition("=")[::2] for s in strata))

    click.echo(committed(work))


@hwtrial_group.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the demo and exit.")
@with_appcontext
def demo(host, port, no_serve):
    """Fresh SQLite demo: migrate, load example studies, create demo users, print links, serve."""
    from .demo import prepare_demo

    info = prepare_demo(current_app._get_current_object(), base_url=f"http://{host}:{port}")
    for line in info.lines():
        click.echo(line)
    if not no_serve:
        # Flask ignores app.run() inside a CLI command; serve with werkzeug directly.
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)


from .cli_allocation import allocation_group  # noqa: E402

hwtrial_group.add_command(allocation_group)

from .cli_homework import homework_group  # noqa: E402

hwtrial_group.add_command(homework_group)

from .cli_analyze import analyze  # noqa: E402

hwtrial_group.add_command(analyze)


def _standalone_group() -> FlaskGroup:
    from . import create_app

    group = FlaskGroup(create_app=create_app, help="hwtrial service and administration.")
    for name, command in hwtrial_group.commands.items():
        group.add_command(command, name)
    return group


def main() -> None:
    """Console script ``hwtrial``. ``hwtrial demo`` runs with the demo configuration."""
    if len(sys.argv) > 1 and sys.argv[1] == "demo":
        os.environ.setdefault("HWTRIAL_ENV", "demo")
    from .config import ConfigError

    try:
        _standalone_group()(prog_name="hwtrial")
    except ConfigError as error:  # a refused configuration is a message, not a traceback
        click.echo(f"hwtrial: configuration error: {error}", err=True)
        sys.exit(2)
