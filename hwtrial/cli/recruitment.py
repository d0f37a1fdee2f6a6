"""``hwtrial recruitment url``: the study URL to paste into a recruitment platform."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import get_session
from .common import committed


@click.group("recruitment", help="Recruitment platforms.")
def recruitment_group():
    pass


@recruitment_group.command("url")
@click.argument("key")
@click.option("--base-url", default=None, help="Public root of the service (default: HWTRIAL_PUBLIC_URL).")
@click.option("--stratum", "strata", multiple=True, metavar="FACTOR=LEVEL", help="Fixed strata of this link.")
@with_appcontext
def recruitment_url(key, base_url, strata):
    """Print the study URL to paste into Prolific (it carries the study's entry token)."""
    from ..services.recruitment import entry_study, entry_token, study_url
    from ..services.studies import get_study

    def work():
        study = get_study(get_session(), None, key)
        if not (study.definition.get("recruitment") or {}).get("prolific"):
            raise click.ClickException(f"study {key!r} has no recruitment.prolific section in its file: "
                                       "add one (studies/README.md, 'recruitment') and amend the study")
        entry_study(get_session(), key, entry_token(study))  # 404 when not active
        root = base_url or current_app.config["HWTRIAL_PUBLIC_URL"] or "http://127.0.0.1:5000"
        return study_url(study, root, dict(s.partition("=")[::2] for s in strata))

    click.echo(committed(work))
