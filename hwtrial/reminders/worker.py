"""The embedded runner (``hwtrial worker``): periodic homework work and the outbox dispatcher.

It needs nothing but the database, so it runs beside a SQLite laptop install. Each pass
commits its own work; an error in a pass (say the database restarting) is logged and the
next pass tries again, so the worker outlives outages.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask

from ..extensions import get_session
from ..models import utcnow
from .channels import make_sender
from .decisions import make_due_decisions
from .dispatcher import DispatchReport, RetryPolicy, dispatch_due
from .queueing import queue_reminders

log = logging.getLogger("hwtrial.worker")


@dataclass(frozen=True)
class PassReport:
    """What one worker pass did."""

    #: Homework instances marked expired.
    expired: int
    #: Reminders newly queued and pending ones cancelled by re-planning.
    reminders: dict
    dispatch: DispatchReport


def run_pass(app: Flask, now: datetime | None = None) -> PassReport:
    """Do whatever is due at ``now``: expire homework, then deliver due outbox messages."""
    from ..services import homework

    with app.app_context():
        session = get_session()
        now = now or utcnow()
        try:
            expired = homework.expire_due(session, now)
            session.commit()
            reminders = {**queue_reminders(session, now), **make_due_decisions(session, now)}
            session.commit()
            retry = RetryPolicy(max_attempts=int(app.config["HWTRIAL_OUTBOX_MAX_ATTEMPTS"]))
            send = make_sender(session, app.config)
            try:
                report = dispatch_due(session, now, send, limit=int(app.config["HWTRIAL_OUTBOX_BATCH"]),
                                      lease=timedelta(seconds=int(app.config["HWTRIAL_OUTBOX_LEASE_SECONDS"])),
                                      retry=retry)
            finally:
                send.close()
        finally:
            session.rollback()
            app.extensions["hwtrial"].db.session.remove()
    return PassReport(expired=expired, reminders=reminders, dispatch=report)


def run_forever(app: Flask, stop: threading.Event, interval: float | None = None) -> None:
    """Run passes every ``interval`` seconds until ``stop`` is set; a full batch runs again at once."""
    interval = float(interval if interval is not None else app.config["HWTRIAL_WORKER_INTERVAL_SECONDS"])
    while not stop.is_set():
        try:
            report = run_pass(app)
        except Exception:  # the worker must outlive a database restart; the pass is retried
            log.exception("worker pass failed; retrying in %.0f s", interval)
            stop.wait(interval)
            continue
        if report.expired or report.dispatch.claimed or any(report.reminders.values()):
            log.info("worker pass: %s", report)
        if report.dispatch.claimed < int(app.config["HWTRIAL_OUTBOX_BATCH"]):
            stop.wait(interval)
