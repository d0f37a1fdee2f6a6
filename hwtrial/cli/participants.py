"""``hwtrial participants links KEY --count N``: participant links in bulk, as CSV."""

from __future__ import annotations

import csv
import io

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import get_session
from .common import ACTOR, committed


@click.group("participants", help="Participants: links in bulk.")
def participants_group():
    pass


def _strata(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        factor, sep, level = item.partition("=")
        if not sep or not factor.strip():
            raise click.BadParameter(f"{item!r} is not FACTOR=LEVEL", param_hint="--strata")
        out[factor.strip()] = level.strip()
    return out


@participants_group.command("links")
@click.argument("study_key")
@click.option("--count", required=True, type=click.IntRange(min=1), help="How many links.")
@click.option("--strata", "strata", multiple=True, metavar="FACTOR=LEVEL",
              help="Stratification level of every participant of the batch (repeatable).")
@click.option("--cluster", default=None, help="Cluster id (for cluster-randomised studies).")
@click.option("--prefix", "id_prefix", default="link", show_default=True,
              help="External ids are PREFIX-<random>.")
@click.option("--base-url", default=None, help="Root of the links (default: HWTRIAL_PUBLIC_URL).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the CSV to this file instead of standard output.")
@with_appcontext
def links_command(study_key, count, strata, cluster, id_prefix, base_url, out):
    """Pre-enrol COUNT participants of an active study; print id, external_id, link as CSV."""
    from ..services import studies
    from ..services.link_batch import enrol_batch

    base = base_url or current_app.config["HWTRIAL_PUBLIC_URL"]
    levels = _strata(strata)

    def work():
        study = studies.get_study(get_session(), None, study_key)
        return enrol_batch(get_session(), ACTOR, study, count, strata=levels, cluster=cluster,
                           base_url=base, id_prefix=id_prefix)

    rows = committed(work)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "external_id", "link"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if out:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
        click.echo(f"{len(rows)} participant link(s) of {study_key} written to {out}")
    else:
        click.echo(buffer.getvalue(), nl=False)
