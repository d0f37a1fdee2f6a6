"""Configuration: defaults → instance file → ``HWTRIAL_*`` environment → explicit mapping.

Read once, in :func:`load_config`, when the app is built; never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

#: The secret key a fresh checkout ships with; refused outside development and demo.
DEFAULT_SECRET_KEY = "hwtrial-development-key-change-me"

#: Environments in which the default secret key is tolerated.
RELAXED_ENVS = frozenset({"development", "demo", "testing"})

#: Shortest secret (and audit HMAC) key accepted outside the relaxed environments.
MIN_KEY_LENGTH = 32

DEFAULTS: dict[str, Any] = {
    "HWTRIAL_ENV": "production",
    "HWTRIAL_DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "HWTRIAL_SECRET_KEY": DEFAULT_SECRET_KEY,
    "HWTRIAL_AUDIT_HMAC_KEY": None,  # None: derived from the secret key (still outside the DB)
    "HWTRIAL_AUDIT_HEAD_FILE": None,  # optional file that mirrors the authenticated chain head
    "HWTRIAL_URL_PREFIX": "",
    "HWTRIAL_MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    "HWTRIAL_SESSION_HOURS": 12,
    # A trial runs for months: links and participant sessions outlast it; revoke a link by
    # bumping the participant's link generation.
    "HWTRIAL_PARTICIPANT_LINK_DAYS": 180,
    "HWTRIAL_PARTICIPANT_SESSION_DAYS": 90,
    "HWTRIAL_SQLITE_BUSY_TIMEOUT_MS": 30000,
    "HWTRIAL_STUDIES_DIR": None,  # None: ./studies
    "HWTRIAL_MIGRATIONS_DIR": None,  # None: the installed package's migrations (see below)
    "HWTRIAL_PUBLIC_URL": None,  # None: the host the request came to
    # Secure flag on cookies (and HSTS); None: on when HWTRIAL_PUBLIC_URL is https, else per request.
    "HWTRIAL_SECURE_COOKIES": None,
    # Reverse proxies in front of the standalone service whose X-Forwarded-* headers are trusted.
    "HWTRIAL_PROXY_COUNT": 0,
    "HWTRIAL_DEFAULT_LOCALE": "en",
    "HWTRIAL_PROLIFIC_PID_PARAM": "PROLIFIC_PID",
    "HWTRIAL_PROLIFIC_STUDY_PARAM": "STUDY_ID",
    "HWTRIAL_PROLIFIC_SESSION_PARAM": "SESSION_ID",
    # Outbox delivery (hwtrial worker): SMTP for email; security none|starttls|ssl, port 0
    # means the mode's usual port (25, 587, 465).
    "HWTRIAL_SMTP_HOST": None,
    "HWTRIAL_SMTP_PORT": 0,
    "HWTRIAL_SMTP_SECURITY": "none",
    "HWTRIAL_SMTP_USERNAME": None,
    "HWTRIAL_SMTP_PASSWORD": None,
    "HWTRIAL_SMTP_TIMEOUT_SECONDS": 30,
    "HWTRIAL_MAIL_FROM": "hwtrial@localhost",
    # Per-study webhook secrets {study key: secret}; or HWTRIAL_WEBHOOK_SECRET_<KEY> variables.
    "HWTRIAL_WEBHOOK_SECRETS": None,
    "HWTRIAL_WEBHOOK_TIMEOUT_SECONDS": 10,
    "HWTRIAL_OUTBOX_MAX_ATTEMPTS": 8,
    "HWTRIAL_OUTBOX_BATCH": 100,
    "HWTRIAL_OUTBOX_LEASE_SECONDS": 300,
    # Outcomes of a batch are committed together at least this often (a crash resends at
    # most what was sent in this window, with the same Message-ID / Idempotency-Key).
    "HWTRIAL_OUTBOX_RECORD_MS": 50,
    # Deliveries in flight per worker (each sender thread keeps its own SMTP session and
    # webhook connections): server round trips overlap instead of idling the worker.
    "HWTRIAL_DISPATCH_CONCURRENCY": 4,
    "HWTRIAL_WORKER_INTERVAL_SECONDS": 5,
    # Planning (expiry, reminder queueing, MRT decisions) runs this often, delivery every interval.
    "HWTRIAL_WORKER_PLAN_SECONDS": 30,
    # Celery on Redis (optional): broker URL and the queue hwtrial's tasks use.
    "HWTRIAL_CELERY_BROKER_URL": None,
    "HWTRIAL_CELERY_QUEUE": "hwtrial",
    # A results computation slower than this (ms) is kept in the database for every worker
    # process, and the staff results page then shows the last one at once (saying when it
    # was computed) while a new one runs in the background. The API always computes afresh.
    "HWTRIAL_RESULTS_INLINE_MS": 500,
    # Rows per SPSS/Stata file of an export: larger tables are numbered parts (memory: one part).
    "HWTRIAL_EXPORT_PART_ROWS": 250_000,
    # Throttling (see hwtrial.web.throttle): counters in Redis when a URL is set, else in memory.
    "HWTRIAL_RATELIMIT_STORAGE_URL": None,
    "HWTRIAL_LOGIN_LIMIT_ACCOUNT": "5 per 15 minutes",  # failed sign-ins per account
    "HWTRIAL_LOGIN_LIMIT_ADDRESS": "20 per 15 minutes",  # failed sign-ins per client address
    "HWTRIAL_ENTRY_LIMIT_ADDRESS": "30 per 15 minutes",  # link exchanges / recruitment entries per address
    # Mounted on a host's SQLite engine: let hwtrial set WAL, BEGIN IMMEDIATE and synchronous=FULL
    # on it (without, concurrent enrolment on SQLite is not race-free; PostgreSQL needs nothing).
    "HWTRIAL_CONFIGURE_HOST_SQLITE": False,
    # Test-only negative control: switch off the allocation lock to prove the harness finds races.
    "HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK": False,
}

_BOOL_KEYS = {"HWTRIAL_CONFIGURE_HOST_SQLITE", "HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK", "HWTRIAL_SECURE_COOKIES"}
_INT_KEYS = {k for k, v in DEFAULTS.items() if isinstance(v, int) and k not in _BOOL_KEYS}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names the key."""


def _coerce(key: str, raw: str) -> Any:
    if key in _BOOL_KEYS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if key in _INT_KEYS:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key}: {raw!r} is not a whole number") from None
    return raw


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``HWTRIAL_*`` variables of ``environ``, typed like their defaults."""
    return {k: _coerce(k, v) for k, v in environ.items() if k.startswith("HWTRIAL_")}


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (psycopg2 is not a dependency)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _check_limit(key: str, value: Any) -> None:
    from limits import parse

    try:
        parse(str(value))
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not a rate such as '5 per 15 minutes'") from None


def _check_outbox(config: Mapping[str, Any]) -> None:
    """Dispatcher settings that could send a message twice or never are refused at start."""
    for key, low, high in (("HWTRIAL_DISPATCH_CONCURRENCY", 1, 64), ("HWTRIAL_OUTBOX_BATCH", 1, 10_000),
                           ("HWTRIAL_OUTBOX_MAX_ATTEMPTS", 1, 100), ("HWTRIAL_OUTBOX_RECORD_MS", 1, 10_000)):
        value = int(config[key])
        if not low <= value <= high:
            raise ConfigError(f"{key}: {value} is outside {low}..{high}")
    lease, record = int(config["HWTRIAL_OUTBOX_LEASE_SECONDS"]), int(config["HWTRIAL_OUTBOX_RECORD_MS"]) / 1000
    # The worker renews its claim at half the lease, checking at least every record interval;
    # a lease shorter than that could run out under a live worker and let another send again.
    if lease < 2 or lease < 4 * record:
        raise ConfigError(f"HWTRIAL_OUTBOX_LEASE_SECONDS: {lease} s is too short; use at least 2 s and "
                          f"4 x HWTRIAL_OUTBOX_RECORD_MS ({4 * record:g} s)")


def default_migrations_dir() -> Path:
    """hwtrial's Alembic folder: ``hwtrial/migrations`` in a built wheel, ``migrations/`` in a checkout.

    The repository keeps the folder at the top level; the wheel maps it into the package
    (``package_dir`` in setup.py), so an installed hwtrial never looks at the working directory.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigError(f"HWTRIAL_MIGRATIONS_DIR: no migrations found in {package} or beside it; "
                      "reinstall hwtrial or set HWTRIAL_MIGRATIONS_DIR")


def finalise(config: dict[str, Any], instance_path: str) -> dict[str, Any]:
    """Fill derived values and refuse unsafe combinations."""
    env = config["HWTRIAL_ENV"]
    if env not in RELAXED_ENVS | {"production"}:
        raise ConfigError(f"HWTRIAL_ENV: {env!r} is not one of production, development, demo, testing")
    if config["HWTRIAL_SECRET_KEY"] == DEFAULT_SECRET_KEY and env not in RELAXED_ENVS:
        raise ConfigError(
            "HWTRIAL_SECRET_KEY: the default key is refused outside development/demo; "
            "set HWTRIAL_SECRET_KEY to a long random value"
        )
    for key in ("HWTRIAL_SECRET_KEY", "HWTRIAL_AUDIT_HMAC_KEY"):
        value = config[key]
        if value is not None and env not in RELAXED_ENVS and len(str(value)) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"{key}: {len(str(value))} characters is too short to sign with; use at least "
                f"{MIN_KEY_LENGTH} random characters, e.g. the output of "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
    if not config["HWTRIAL_DATABASE_URL"]:
        name = "hwtrial-demo.sqlite3" if env == "demo" else "hwtrial.sqlite3"
        config["HWTRIAL_DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / name)
    config["HWTRIAL_DATABASE_URL"] = normalise_database_url(config["HWTRIAL_DATABASE_URL"])
    if config.get("HWTRIAL_SECURE_COOKIES") is None and (config.get("HWTRIAL_PUBLIC_URL") or "").startswith("https:"):
        config["HWTRIAL_SECURE_COOKIES"] = True
    for key in ("HWTRIAL_LOGIN_LIMIT_ACCOUNT", "HWTRIAL_LOGIN_LIMIT_ADDRESS", "HWTRIAL_ENTRY_LIMIT_ADDRESS"):
        _check_limit(key, config.get(key))
    _check_outbox(config)
    try:
        inline = int(config["HWTRIAL_RESULTS_INLINE_MS"])
    except (TypeError, ValueError):
        inline = -1
    if inline < 0:
        raise ConfigError(f"HWTRIAL_RESULTS_INLINE_MS: {config['HWTRIAL_RESULTS_INLINE_MS']!r} is not a "
                          "number of milliseconds (0 or more)")
    config["HWTRIAL_RESULTS_INLINE_MS"] = inline
    if not config["HWTRIAL_MIGRATIONS_DIR"]:
        config["HWTRIAL_MIGRATIONS_DIR"] = str(default_migrations_dir())
    if not config["HWTRIAL_STUDIES_DIR"]:
        config["HWTRIAL_STUDIES_DIR"] = str(Path.cwd() / "studies")
    return config


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then ``<instance>/hwtrial.cfg`` (Python syntax), then environment, then overrides."""
    config = dict(DEFAULTS)
    cfg_file = Path(os.environ.get("HWTRIAL_CONFIG_FILE", Path(instance_path) / "hwtrial.cfg"))
    if cfg_file.is_file():
        namespace: dict[str, Any] = {}
        exec(compile(cfg_file.read_text(), str(cfg_file), "exec"), namespace)  # noqa: S102
        config.update({k: v for k, v in namespace.items() if k.startswith("HWTRIAL_")})
    config.update(from_environment(os.environ))
    config.update(overrides or {})
    return finalise(config, instance_path)


def session_lifetime(config: Mapping[str, Any]) -> timedelta:
    return timedelta(hours=int(config["HWTRIAL_SESSION_HOURS"]))
