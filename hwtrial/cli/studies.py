"""``hwtrial studies validate|load|amend|activate|close|list``: study files and their lifecycle."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..extensions import get_session
from .common import ACTOR, committed, read_only


@click.group("studies", help="Validate, load, amend, activate and close studies.")
def studies_group():
    pass


@studies_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
def studies_validate(paths):
    """Validate study files; print every problem with file, path and line."""
    from ..studydef import validate_paths

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
    """Create a draft study from a new study file (a changed file is an `amend`)."""
    from ..services.loading import load_study_from_file

    study = committed(lambda: load_study_from_file(get_session(), ACTOR, path, activate=activate))
    click.echo(f"loaded {study.key} (version {study.current_version}, {study.status})")


@studies_group.command("amend")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", default="", help="Why (required once the study is active; audited).")
@with_appcontext
def studies_amend(path, reason):
    """Apply a changed study file: a draft is edited, an active study gets a new version."""
    from ..services.loading import amend_study_from_file

    study = committed(lambda: amend_study_from_file(get_session(), ACTOR, path, reason))
    click.echo(f"amended {study.key} (version {study.current_version}, {study.status})")


def _transition(key: str, to_status: str, reason: str):
    from ..services import studies

    def work():
        study = studies.get_study(get_session(), None, key)
        return studies.transition(get_session(), ACTOR, study, to_status, reason)

    return committed(work)


@studies_group.command("activate")
@click.argument("key")
@click.option("--reason", default="", help="Recorded in the audit trail.")
@with_appcontext
def studies_activate(key, reason):
    """draft -> active: enrolment opens and the design is locked."""
    study = _transition(key, "active", reason)
    click.echo(f"{study.key} is active (version {study.current_version})")


@studies_group.command("close")
@click.argument("key")
@click.option("--reason", default="", help="Recorded in the audit trail.")
@with_appcontext
def studies_close(key, reason):
    """active -> closed: no more enrolment or amendments."""
    study = _transition(key, "closed", reason)
    click.echo(f"{study.key} is closed")


@studies_group.command("list")
@with_appcontext
def studies_list():
    """Every study: key, status, version, title."""
    from ..auth.principal import Principal
    from ..services import studies

    rows = read_only(lambda: [(s.key, s.status, s.current_version, s.title)
                              for s in studies.list_studies(get_session(), Principal(role=ACTOR))])
    for key, status, version, title in rows:
        click.echo(f"{key:<28} {status:<8} v{version:<4} {title}")
    if not rows:
        click.echo("no studies (load one with `hwtrial studies load PATH`)")
