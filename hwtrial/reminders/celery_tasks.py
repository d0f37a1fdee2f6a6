"""Celery on Redis for scale: beat triggers a worker pass every few seconds; any worker runs it.

No reminder is ever a Celery ETA task: with Redis, a task whose ETA outlives the broker's
visibility timeout is delivered twice (celery#2599, kombu#337). The database stays the source
of truth: a pass claims due rows with ``FOR UPDATE SKIP LOCKED`` and a lease, so passes running
side by side on several workers never send one row twice, and a lost or repeated trigger costs
nothing (triggers expire after two intervals instead of piling up behind a stopped worker).
"""

from __future__ import annotations

from celery import Celery
from flask import Flask

from ..config import ConfigError
from .worker import drain, run_pass

PASS_TASK = "hwtrial.worker_pass"
DISPATCH_TASK = "hwtrial.dispatch"


def make_celery(flask_app: Flask) -> Celery:
    """A Celery app whose beat schedules a full :func:`~hwtrial.reminders.worker.run_pass`
    (planning and delivery) every ``HWTRIAL_WORKER_PLAN_SECONDS`` and a delivery-only pass
    every ``HWTRIAL_WORKER_INTERVAL_SECONDS``."""
    broker = flask_app.config.get("HWTRIAL_CELERY_BROKER_URL")
    if not broker:
        raise ConfigError("HWTRIAL_CELERY_BROKER_URL: set it to the Redis URL Celery should use")
    interval = float(flask_app.config["HWTRIAL_WORKER_INTERVAL_SECONDS"])
    plan_every = float(flask_app.config["HWTRIAL_WORKER_PLAN_SECONDS"])
    batch = int(flask_app.config["HWTRIAL_OUTBOX_BATCH"])
    celery = Celery("hwtrial", broker=broker, set_as_current=False)
    celery.conf.update(
        task_default_queue=flask_app.config["HWTRIAL_CELERY_QUEUE"], task_ignore_result=True,
        worker_hijack_root_logger=False, broker_connection_retry_on_startup=True,
        worker_prefetch_multiplier=1,
        beat_schedule={
            "hwtrial-worker-pass": {"task": PASS_TASK, "schedule": plan_every,
                                    "options": {"expires": 2 * plan_every}},
            "hwtrial-dispatch": {"task": DISPATCH_TASK, "schedule": interval,
                                 "options": {"expires": 2 * interval}}})

    def deliver(plan: bool) -> dict:
        report = run_pass(flask_app, plan=plan)
        sent = report.dispatch.sent
        if report.dispatch.claimed >= batch:
            # more is due: one more trigger lets an idle worker process join in (it expires
            # like beat's), and this one drains for a few intervals
            dispatch.apply_async(expires=2 * interval)
            sent = drain(flask_app, 4 * interval, report)
        return {"expired": report.expired, **report.reminders, "sent": sent}

    @celery.task(name=PASS_TASK, ignore_result=True)
    def worker_pass() -> dict:
        return deliver(plan=True)

    @celery.task(name=DISPATCH_TASK, ignore_result=True)
    def dispatch() -> dict:
        return deliver(plan=False)

    return celery
