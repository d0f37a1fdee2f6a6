"""gunicorn settings for hwtrial: ``gunicorn -c python:hwtrial.gunicorn_conf 'hwtrial:create_app()'``.

The access log omits query strings and the Referer, which could carry participant links.
In production, several workers need a shared store for the throttling counters
(``HWTRIAL_RATELIMIT_STORAGE_URL``): gunicorn refuses to start without one, because counters in
each worker's memory would multiply every sign-in and entry limit by the number of workers.
"""

import os

bind = os.environ.get("HWTRIAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HWTRIAL_WORKERS", "4"))
# Path without query string (%(U)s), never the Referer.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
accesslog = os.environ.get("HWTRIAL_ACCESS_LOG", "-")
timeout = 60
graceful_timeout = 30


def throttle_storage_problem(worker_count: int, settings) -> str | None:
    """Why ``worker_count`` workers cannot share the throttling counters of ``settings``, or None."""
    if worker_count <= 1 or settings.get("HWTRIAL_ENV") != "production":
        return None
    if settings.get("HWTRIAL_RATELIMIT_STORAGE_URL"):
        return None
    return (f"HWTRIAL_RATELIMIT_STORAGE_URL: {worker_count} workers would each count sign-in and entry "
            f"attempts in their own memory ({worker_count} times the configured limits); set it to a "
            "shared store such as redis://redis.internal:6379/2, or run one worker (-w 1 --threads 8)")


def on_starting(server):
    from flask import Flask

    from hwtrial.config import ConfigError, load_config

    try:
        settings = load_config(Flask("hwtrial", instance_relative_config=True).instance_path)
    except ConfigError:
        return  # the workers report it when they build the app
    problem = throttle_storage_problem(server.cfg.workers, settings)
    if problem:
        server.log.error(problem)
        raise SystemExit(f"hwtrial: {problem}")


def post_fork(server, worker):
    from hwtrial.redaction import install_redaction

    install_redaction()
