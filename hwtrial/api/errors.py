"""One error shape for every API 4xx and 5xx: ``{code, status, message, errors}``."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_smorest import abort as smorest_abort
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from ..errors import ServiceError
from ..extensions import state

__all__ = ["ServiceError", "abort", "flatten_errors"]


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"json": {"consent": {"version": [...]}}}`` → ``{"consent.version": [...]}``."""
    if isinstance(errors, dict):
        if not prefix and set(errors) <= {"json", "query", "form", "headers", "files", "view_args"}:
            merged: dict[str, list[str]] = {}
            for value in errors.values():
                merged.update(flatten_errors(value))
            return merged
        out: dict[str, list[str]] = {}
        for key, value in errors.items():
            path = f"{prefix}.{key}" if prefix and not isinstance(key, int) else (
                f"{prefix}[{key}]" if prefix else str(key))
            out.update(flatten_errors(value, path))
        return out
    if isinstance(errors, (list, tuple)) and all(isinstance(e, str) for e in errors):
        return {prefix or "_schema": list(errors)}
    return {prefix or "_schema": [str(errors)]}


def error_body(status: int, name: str, message: str, errors: dict | None = None) -> dict:
    return {"code": status, "status": name, "message": message, "errors": errors or {}}


def is_api_request() -> bool:
    prefix = state().url_prefix + "/api/"
    return request.path.startswith(prefix)


def handle_http_exception(error: HTTPException):
    """JSON for API paths; the host app's own handling everywhere else (an unknown staff
    page gets hwtrial's 404 page, with the way back to the studies)."""
    if not is_api_request():
        if error.code == 404 and request.path.startswith(state().url_prefix + "/staff/"):
            from ..web.errors import render_staff_not_found

            return render_staff_not_found()
        return error
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    message = data.get("message") or error.description or error.name
    if isinstance(error, InternalServerError):
        message = "internal server error"  # never a stack trace
        errors = {}
    body = error_body(error.code or 500, error.name, message, flatten_errors(errors) if errors else {})
    response = jsonify(body)
    response.status_code = error.code or 500
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)  # RFC 9110: a 405 says what is
    return response


def handle_service_error(error: ServiceError):
    from werkzeug.http import HTTP_STATUS_CODES

    name = HTTP_STATUS_CODES.get(error.status, "Error")
    if not is_api_request():
        from ..web.errors import render_service_error

        return render_service_error(error, name)
    body = error_body(error.status, name, error.message, error.errors)
    body.update(error.payload)
    response = jsonify(body)
    response.status_code = error.status
    if error.status in (429, 503) and g.get("hwtrial_retry_after"):
        response.headers["Retry-After"] = str(g.hwtrial_retry_after)
    return response


#: Seconds a client is asked to wait when the database cannot be reached.
DATABASE_RETRY_AFTER = 5


def database_unavailable(error: Exception) -> bool:
    """The database is down, restarting or refusing connections (not a bug in the request)."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if database_unavailable(error):
        # A restart or failover: answer 503 + Retry-After; the pool drops the dead
        # connections, so requests succeed again on their own once the database is back.
        current_app.logger.warning("database unavailable: %s", type(error).__name__)
        g.hwtrial_retry_after = DATABASE_RETRY_AFTER
        return handle_service_error(ServiceError(503, "the service is briefly unavailable; please retry"))
    current_app.logger.exception("unhandled error")
    if not is_api_request():
        raise error
    return jsonify(error_body(500, "Internal Server Error", "internal server error")), 500


def abort(status: int, message: str, errors: dict | None = None):
    smorest_abort(status, message=message, errors=errors or {})
