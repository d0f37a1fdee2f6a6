"""``hwtrial worker``: the embedded runner — reminders, deliveries and periodic homework work."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Do whatever is due now, then exit 0 (for cron and tests).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=None,
              help="Seconds between passes (default HWTRIAL_WORKER_INTERVAL_SECONDS).")
@with_appcontext
def worker(once, interval):
    """Plan and send reminders, deliver queued messages, expire overdue homework; until stopped."""
    from ..reminders.worker import run_forever, run_pass

    app = current_app._get_current_object()
    if once:
        report = run_pass(app)
        click.echo(f"expired {report.expired}, reminders {report.reminders}, "
                   f"sent {report.dispatch.sent}, retried {report.dispatch.retried}, "
                   f"dead {report.dispatch.dead}, cancelled {report.dispatch.cancelled}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("hwtrial worker running (SIGTERM or Ctrl-C stops it after the current message)")
    run_forever(app, stop, interval)
