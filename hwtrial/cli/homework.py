"""``hwtrial homework expire|metrics|regenerate``: the periodic and repair jobs of homework."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from ..extensions import get_session
from .common import committed


@click.group("homework", help="Homework instances: expire overdue ones, recompute metrics, re-plan.")
def homework_group():
    pass


def _now(value: str | None) -> datetime:
    from ..models import utcnow

    if value is None:
        return utcnow()
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.utcoffset() is None:
        raise click.BadParameter("needs a UTC offset, e.g. 2026-03-01T12:00:00Z", param_hint="--now")
    return parsed


@homework_group.command("expire")
@click.option("--now", "now_text", default=None, help="Pretend it is this instant (ISO 8601 with offset).")
@with_appcontext
def expire_command(now_text):
    """Mark unsubmitted homework past its expiry as expired (run every few minutes; idempotent)."""
    from ..services import homework

    now = _now(now_text)
    count = committed(lambda: homework.expire_due(get_session(), now))
    click.echo(f"expired {count} homework instance(s)")


@homework_group.command("metrics")
@click.argument("study_key")
@with_appcontext
def metrics_command(study_key):
    """Recompute the engagement metrics of every submitted homework of a study from its events."""
    from ..services import homework, studies

    def work():
        return homework.recompute_study_metrics(get_session(), studies.get_study(get_session(), None, study_key))

    click.echo(f"recomputed metrics of {committed(work)} homework instance(s)")


@homework_group.command("regenerate")
@click.argument("study_key")
@with_appcontext
def regenerate_command(study_key):
    """Re-plan every active participant's schedule (new slots; not-yet-opened ones move)."""
    from ..services import homework, studies

    def work():
        return homework.regenerate_for_study(get_session(), studies.get_study(get_session(), None, study_key))

    counts = committed(work)
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))
