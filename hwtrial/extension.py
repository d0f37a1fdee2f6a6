"""The :class:`HWTrial` Flask extension: mount hwtrial into any Flask app."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from flask_smorest import Api
from sqlalchemy.exc import SQLAlchemyError

from . import config as hwconfig
from .api.common import ErrorSchema
from .api.errors import handle_http_exception, handle_service_error, handle_unexpected
from .api.openapi import OperationDocs, add_security_schemes, register_pagination_header
from .errors import ServiceError
from .extensions import HWTrialState, get_session, migrate
from .extensions import db as own_db
from .sqlite import configure_sqlite_engine

API_SETTINGS = {
    "HWTRIAL_API_TITLE": "hwtrial",
    "HWTRIAL_API_VERSION": "v1",
    "HWTRIAL_OPENAPI_VERSION": "3.0.3",
    "HWTRIAL_OPENAPI_JSON_PATH": "openapi.json",
}


class _HWTrialApi(Api):
    """flask-smorest's Api without its app-wide error handler (we register a scoped one).

    No blanket ``default`` response: each operation lists its own error codes
    (:mod:`hwtrial.api.openapi`), all with the one error shape.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass

    def _init_spec(self, **kwargs):
        super()._init_spec(extra_plugins=[OperationDocs()], **kwargs)
        add_security_schemes(self.spec)

    def _register_pagination_header(self):
        register_pagination_header(self.spec)


class HWTrial:
    """Mount hwtrial on a Flask app.

    ``HWTrial(app)`` or ``ext = HWTrial(); ext.init_app(app)``. Pass ``db=`` the host's
    Flask-SQLAlchemy instance when the host already has one; hwtrial's tables (prefixed
    ``hwtrial_``) then live in the host's database beside the host's own tables.
    """

    def __init__(self, app: Flask | None = None, *, db=None):
        self._db = db
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, db=None) -> None:
        if "hwtrial" in app.extensions:
            raise RuntimeError("hwtrial is already registered on this app")
        for key, value in {**hwconfig.DEFAULTS, **API_SETTINGS}.items():
            app.config.setdefault(key, value)
        hwconfig.finalise(app.config, app.instance_path)
        prefix = app.config["HWTRIAL_URL_PREFIX"].rstrip("/")
        app.config["HWTRIAL_OPENAPI_URL_PREFIX"] = prefix + "/api/v1"
        database = self._bind_database(app, db or self._db)
        api = _HWTrialApi(config_prefix="HWTRIAL_")
        api.init_app(app)
        app.extensions["hwtrial"] = HWTrialState(db=database, api=api, url_prefix=prefix)
        self._register_routes(app, api, prefix)
        self._register_hooks(app)
        from .cli import hwtrial_group
        from .redaction import install_redaction

        app.cli.add_command(hwtrial_group)
        install_redaction()

    # The host app's Python API (hwtrial.host_api): the REST API's use cases in-process, each in
    # a session of hwtrial's own, so the host's db.session is neither committed nor rolled back.
    def enrol(self, study_key: str, data: dict) -> dict:
        """Enrol (idempotent) like ``POST …/participants``; see :func:`hwtrial.host_api.enrol`."""
        from . import host_api

        return host_api.enrol(study_key, data)

    def record_events(self, study_key: str, events: list) -> dict:
        """Store engagement events like ``POST …/events``."""
        from . import host_api

        return host_api.record_events(study_key, events)

    def withdraw(self, study_key: str, participant: str | int, *, reason: str,
                 data_use_withdrawn: bool = False) -> dict:
        """Withdraw a participant (external id or hwtrial id) like ``POST …/withdraw``."""
        from . import host_api

        return host_api.withdraw(study_key, participant, reason=reason, data_use_withdrawn=data_use_withdrawn)

    def features_for(self, study_key: str, participant: str | int) -> dict:
        """Feature flags of a participant's arm (external id or hwtrial id), inside an app context.

        The first exposure to each feature is recorded and committed in a session of hwtrial's
        own: the host's ``db.session`` and its pending work are left alone.
        Raises :class:`~hwtrial.errors.ServiceError` (404) for an unknown participant.
        """
        from . import host_api

        return host_api.features_for(study_key, participant)

    @staticmethod
    def _bind_database(app: Flask, database):
        if database is None:
            if "sqlalchemy" in app.extensions:
                database = app.extensions["sqlalchemy"]
            else:
                app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["HWTRIAL_DATABASE_URL"])
                # No pre-ping (a round trip on every request); recycle connections instead.
                # hide_parameters: a DB error's message (logged) must not carry answers or token hashes.
                app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_recycle": 1800, "hide_parameters": True})
                own_db.init_app(app)
                database = own_db
        if "migrate" not in app.extensions:
            migrate.init_app(app, database, directory=app.config["HWTRIAL_MIGRATIONS_DIR"])
        # A host's own engine is the host's: hwtrial switches it to WAL, BEGIN IMMEDIATE and
        # synchronous=FULL only when asked (race-free enrolment on SQLite needs BEGIN IMMEDIATE).
        if database is not own_db and not app.config["HWTRIAL_CONFIGURE_HOST_SQLITE"]:
            return database
        with app.app_context():
            for engine in database.engines.values():
                configure_sqlite_engine(
                    engine, app.config["HWTRIAL_SQLITE_BUSY_TIMEOUT_MS"],
                    immediate=not app.config["HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK"])
        return database

    @staticmethod
    def _register_routes(app: Flask, api: Api, prefix: str) -> None:
        from .api import register_api
        from .api.docs import register_docs
        from .web import register_web

        register_api(api, prefix)
        register_docs(app, prefix)
        register_web(app, prefix)

    @staticmethod
    def _register_hooks(app: Flask) -> None:
        app.register_error_handler(ServiceError, handle_service_error)
        app.register_error_handler(SQLAlchemyError, handle_unexpected)
        from werkzeug.exceptions import HTTPException

        if HTTPException not in app.error_handler_spec[None][None]:  # keep a host's own handler
            app.register_error_handler(HTTPException, handle_http_exception)
        app.before_request(_before_hwtrial_request)
        app.after_request(_after_hwtrial_request)


def is_hwtrial_endpoint(endpoint: str | None) -> bool:
    return bool(endpoint) and (endpoint.startswith("hwtrial") or endpoint == "static")


def _before_hwtrial_request():
    if not is_hwtrial_endpoint(request.endpoint):
        return None
    from flask import current_app

    request.max_content_length = current_app.config["HWTRIAL_MAX_CONTENT_LENGTH"]
    from .auth.load import enforce_policy
    from .web.forms import refuse_unstorable_input

    refuse_unstorable_input()

    enforce_policy(get_session())
    return None


def _after_hwtrial_request(response):
    """One commit per request: services flush, the request commits on success. Then the
    security headers, also on API paths no route matched (a host's own routes are left alone)."""
    from .api.errors import is_api_request
    from .web.headers import apply

    if not is_hwtrial_endpoint(request.endpoint):
        return apply(response) if is_api_request() else response
    session = get_session()
    if response.status_code < 400:
        session.commit()
    else:
        session.rollback()
    return apply(response)


def session_lifetime(app: Flask) -> timedelta:
    return timedelta(hours=int(app.config["HWTRIAL_SESSION_HOURS"]))
