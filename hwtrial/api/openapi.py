"""What the OpenAPI document says beyond the schemas: who may call, and which errors come back.

Derived from the same rules the server applies, so the document cannot drift from them:
the policy table decides the security requirement and 401/403, a URL variable means 404
(unknown study or object), a request body means 400 (not JSON), 413 (size limit) and 422
(validation). A
view documents the rest itself (409 with ``alt_response``). There is no blanket ``default``
response: an error code the document does not name is a bug in one or the other.
"""

from __future__ import annotations

from apispec import BasePlugin

from ..auth.load import SESSION_COOKIE
from ..auth.policy import allowed_roles

BEARER = "bearerAuth"
COOKIE = "sessionCookie"

SECURITY_SCHEMES = {
    BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "An API token (`hwtrial users create` prints one; admins issue more with "
                       "`POST /api/v1/users/{user_id}/tokens`). Host platforms use a coordinator token.",
    },
    COOKIE: {
        "type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
        "description": "The browser session of a participant (opened by the signed link) or of a "
                       "signed-in staff member; the participant pages send it with their events.",
    },
}


def security_for(endpoint: str, method: str) -> list[dict] | None:
    """The operation's security requirement from the policy row; ``None`` for a public route."""
    roles = allowed_roles(endpoint, method)
    if "anonymous" in roles:
        return None
    if "participant" in roles:
        return [{BEARER: []}, {COOKIE: []}]
    return [{BEARER: []}]


def error_codes(path: str, operation: dict, secured: bool) -> list[int]:
    codes = []
    if secured:
        codes += [401, 403]
    if "{" in path:
        codes.append(404)
    if "requestBody" in operation:
        codes += [400, 413, 422]  # 400: the body is not JSON
    elif any(p.get("in") == "query" for p in operation.get("parameters", [])
             if isinstance(p, dict)):
        codes.append(422)
    return codes


class OperationDocs(BasePlugin):
    """apispec plugin: security and error responses of every operation (see the module doc).

    A marshmallow schema may also carry ``OPENAPI`` (a dict of JSON-schema keywords merged into
    its component) for rules marshmallow cannot state, e.g. "exactly one of" as ``oneOf``.
    """

    def schema_helper(self, name, _definition, **kwargs):
        schema = kwargs.get("schema")
        extra = getattr(schema, "OPENAPI", None)
        return dict(extra) if extra else None

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        for method, operation in operations.items():
            security = security_for(rule.endpoint, method.upper())
            if security is not None:
                operation["security"] = security
            responses = operation.setdefault("responses", {})
            for code in error_codes(path or "", operation, security is not None):
                responses.setdefault(str(code), _response_name(code))


def _response_name(code: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(code).name  # flask-smorest registers one per status, with the Error schema


def register_pagination_header(spec) -> None:
    """``X-Pagination`` is a JSON object in a header: say so with ``content`` (flask-smorest's
    own entry gives a bare object schema, which reads as a comma-separated header)."""
    from flask_smorest.pagination import PaginationMetadataSchema

    spec.components.header("PAGINATION", {
        "description": "Pagination metadata (JSON): total, total_pages, first_page, last_page, "
                       "page, previous_page, next_page",
        "content": {"application/json": {"schema": PaginationMetadataSchema}},
    }, lazy=True)


def add_security_schemes(spec) -> None:
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
