"""The embedded runner (``hwtrial worker``): periodic homework work and the outbox dispatcher.

It needs nothing but the database, so it runs beside a SQLite laptop install. Each pass
commits its own work; an error in a pass (say the database restarting) is logged and the
next pass tries again, so the worker outlives outages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask

from ..extensions import get_session
from ..models import utcnow
from .channels import make_sender
from .decisions import make_due_decisions
from .dispatcher import DispatchReport, RetryPolicy, advancing, dispatch_due
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


def run_pass(app: Flask, now: datetime | None = None, *, plan: bool = True,
             stop: Callable[[], bool] | None = None) -> PassReport:
    """Do whatever is due at ``now``: expire homework and plan reminders (unless ``plan`` is
    false: a pass that only delivers), then deliver due outbox messages (``stop()`` true ends
    the batch early and hands its unsent rows back)."""
    from ..services import homework

    with app.app_context():
        session = get_session()
        now = now or utcnow()
        clock = advancing(now)  # the pass's time: ``now`` (real or given), moving on with the pass
        expired, reminders = 0, {}
        try:
            if plan:
                expired = homework.expire_due(session, now)
                session.commit()
                reminders = {**queue_reminders(session, now), **make_due_decisions(session, now)}
                session.commit()
            report = dispatch_once(app, session, now, stop, clock)
        finally:
            session.rollback()
            app.extensions["hwtrial"].db.session.remove()
    return PassReport(expired=expired, reminders=reminders, dispatch=report)


def dispatch_once(app: Flask, session, now: datetime, stop: Callable[[], bool] | None = None,
                  clock: Callable[[], datetime] | None = None) -> DispatchReport:
    config = app.config
    clock = clock or advancing(now)
    send = make_sender(session, config, clock=clock)
    try:
        return dispatch_due(session, now, send, limit=int(config["HWTRIAL_OUTBOX_BATCH"]),
                            lease=timedelta(seconds=int(config["HWTRIAL_OUTBOX_LEASE_SECONDS"])),
                            retry=RetryPolicy(max_attempts=int(config["HWTRIAL_OUTBOX_MAX_ATTEMPTS"])),
                            record_every=int(config["HWTRIAL_OUTBOX_RECORD_MS"]) / 1000, stop=stop,
                            clock=clock)
    finally:
        send.close()


def drain(app: Flask, seconds: float, first: PassReport) -> int:
    """After ``first``, outbox-only passes while batches come back full, for up to ``seconds``;
    how many messages all of them sent."""
    started, batch = time.monotonic(), int(app.config["HWTRIAL_OUTBOX_BATCH"])
    report, sent = first, first.dispatch.sent
    while report.dispatch.claimed >= batch and time.monotonic() - started < seconds:
        report = run_pass(app, plan=False)
        sent += report.dispatch.sent
    return sent


def run_forever(app: Flask, stop: threading.Event, interval: float | None = None) -> None:
    """Deliver every ``interval`` seconds until ``stop`` is set, at once again while batches
    come back full; plan (expire homework, queue reminders, decide MRT points) every
    ``HWTRIAL_WORKER_PLAN_SECONDS``, not on every batch."""
    interval = float(interval if interval is not None else app.config["HWTRIAL_WORKER_INTERVAL_SECONDS"])
    plan_every = float(app.config["HWTRIAL_WORKER_PLAN_SECONDS"])
    batch, planned = int(app.config["HWTRIAL_OUTBOX_BATCH"]), None
    while not stop.is_set():
        plan = planned is None or time.monotonic() - planned >= plan_every
        try:
            report = run_pass(app, plan=plan, stop=stop.is_set)
        except Exception:  # the worker must outlive a database restart; the pass is retried
            log.exception("worker pass failed; retrying in %.0f s", interval)
            stop.wait(interval)
            continue
        planned = time.monotonic() if plan else planned
        if report.expired or any(report.reminders.values()) or (plan and report.dispatch.claimed):
            log.info("worker pass: %s", report)
        if report.dispatch.claimed < batch:
            stop.wait(interval)
