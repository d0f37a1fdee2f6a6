"""Small helpers every API module uses: the error schema, the body parser, the Blueprint."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint as _SmorestBlueprint
from webargs.flaskparser import FlaskParser

from ..auth.load import current_principal
from ..errors import ServiceError
from ..extensions import get_session
from .fields import bad_strings

__all__ = ["MAX_JSON_DEPTH", "Blueprint", "ErrorSchema", "RequestParser", "current_principal",
           "get_session"]

#: Deepest JSON body read. Deeper ones are refused before any schema or encoder recurses
#: over them (the study file's own, tighter limit is in hwtrial.studydef).
MAX_JSON_DEPTH = 256


class ErrorSchema(ma.Schema):
    """The one error shape of every 4xx/5xx answer."""

    code = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


def _too_deep(value) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


class RequestParser(FlaskParser):
    """Reads request bodies; every failure to read one is a 422 in the JSON error shape.

    Malformed JSON, a body nested past the decoder's stack (it recurses once per ``[``/``{``,
    so 10,000 of them raise RecursionError before any schema sees the body), one deeper than
    :data:`MAX_JSON_DEPTH`, any string the database cannot store (NUL, lone surrogate),
    wherever it sits in the body, keys included, and ``NaN``/``Infinity`` (not JSON).
    """

    DEFAULT_VALIDATION_STATUS = 422

    def _raw_load_json(self, req):
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            raise ServiceError(422, "the request body cannot be read",
                               {"<json>": ["nested too deeply to read"]}) from None
        if data is not ma.missing:
            if _too_deep(data):
                raise ServiceError(422, "the request body cannot be read",
                                   {"<json>": [f"nested more than {MAX_JSON_DEPTH} levels deep"]})
            problems: dict[str, list[str]] = {}
            for path, problem in bad_strings(data):
                problems.setdefault(path, []).append(problem)
            if problems:
                raise ServiceError(422, "the request body holds values that cannot be stored", problems)
        return data

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise ServiceError(422, "the request body is not valid JSON",
                           {"<json>": ["not valid JSON (UTF-8)"]})


#: One parser for every API blueprint.
PARSER = RequestParser()


class Blueprint(_SmorestBlueprint):
    """flask-smorest's Blueprint reading bodies with :class:`RequestParser`."""

    ARGUMENTS_PARSER = PARSER
