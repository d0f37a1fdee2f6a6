"""Form and query values the database cannot store are refused before any view reads them.

Pages read ``request.form``/``request.args`` directly (no schema), so this one check, run
before every hwtrial request, stands in for :class:`hwtrial.api.fields.Text` there: a NUL or
a lone surrogate in any name or value answers 422 naming the field, never a driver's 500.
Length limits stay with each use (the homework field specs, the recruitment checks).
"""

from __future__ import annotations

from flask import request

from ..api.fields import text_problem
from ..errors import ServiceError

_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_unstorable_input() -> None:
    sources = [request.args]
    if request.mimetype in _FORM_TYPES:
        sources.append(request.form)
    problems: dict[str, list[str]] = {}
    for source in sources:
        for key, values in source.lists():
            for value in (key, *values):
                problem = text_problem(value)
                if problem:
                    name = key if not text_problem(key) else "<field name>"
                    problems.setdefault(name, []).append(problem)
    if problems:
        raise ServiceError(422, "the request holds text that cannot be stored", problems)
