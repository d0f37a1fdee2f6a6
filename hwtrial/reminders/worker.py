"""The embedded runner (``hwtrial worker``): periodic homework work and the outbox dispatcher.

It needs nothing but the database, so it runs beside a SQLite laptop install. Each pass
commits its own work; an error in a pass (say the database restarting) is logged and the
next pass tries again, so the worker outlives outages.
"""

from __future__ import annotations

import logging
import threading
import time
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


def run_pass(app: Flask, now: datetime | None = None, *, plan: bool = True) -> PassReport:
    """Do whatever is due at ``now``: expire homework and plan reminders (unless ``plan`` is
    false: a pass that only drains the outbox), then deliver due outbox messages."""
    from ..services import homework

    with app.app_context():
        session = get_session()
        now = now or utcnow()
        expired, reminders = 0, {}
        try:
            if plan:
                expired = homework.expire_due(session, now)
                session.commit()
                reminders = {**queue_reminders(session, now), **make_due_decisions(session, now)}
                session.commit()
            report = dispatch_once(app, session, now)
        finally:
            session.rollback()
            app.extensions["hwtrial"].db.session.remove()
    return PassReport(expired=expired, reminders=reminders, dispatch=report)


def dispatch_once(app: Flask, session, now: datetime) -> DispatchReport:
    config = app.config
    send = make_sender(session, config)
    try:
        return dispatch_due(session, now, send, limit=int(config["HWTRIAL_OUTBOX_BATCH"]),
                            lease=timedelta(seconds=int(config["HWTRIAL_OUTBOX_LEASE_SECONDS"])),
                            retry=RetryPolicy(max_attempts=int(config["HWTRIAL_OUTBOX_MAX_ATTEMPTS"])),
                            record_every=int(config["HWTRIAL_OUTBOX_RECORD_MS"]) / 1000)
    finally:
        send.close()


def drain(app: Flask, seconds: float, first: PassReport | None = None) -> tuple[PassReport, int]:
    """A full pass (unless ``first`` is one just run), then outbox-only passes while batches
    come back full, for up to ``seconds``: planning runs once per interval, not once per
    batch. Returns the first pass's report and how many messages the passes sent."""
    started, batch = time.monotonic(), int(app.config["HWTRIAL_OUTBOX_BATCH"])
    report = first = first or run_pass(app)
    sent = first.dispatch.sent
    while report.dispatch.claimed >= batch and time.monotonic() - started < seconds:
        report = run_pass(app, plan=False)
        sent += report.dispatch.sent
    return first, sent


def run_forever(app: Flask, stop: threading.Event, interval: float | None = None) -> None:
    """Run passes every ``interval`` seconds until ``stop`` is set; while batches come back
    full, the outbox is drained at once (planning again after each interval)."""
    interval = float(interval if interval is not None else app.config["HWTRIAL_WORKER_INTERVAL_SECONDS"])
    while not stop.is_set():
        try:
            report, sent = drain(app, interval)
        except Exception:  # the worker must outlive a database restart; the pass is retried
            log.exception("worker pass failed; retrying in %.0f s", interval)
            stop.wait(interval)
            continue
        if report.expired or report.dispatch.claimed or any(report.reminders.values()):
            log.info("worker pass: %s (sent %d in all)", report, sent)
        if report.dispatch.claimed < int(app.config["HWTRIAL_OUTBOX_BATCH"]):
            stop.wait(interval)
