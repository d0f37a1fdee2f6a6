"""Schema validation plus the cross-field checks on every part that loaded validly.

``hwtrial studies validate`` promises every problem in one run. The cross-field checks
need a loaded, normalised document, so when the schema rejects some top-level sections
(``arms``, ``allocation``, ...) the checks still run on a copy in which each rejected
section is left at its default, or at a schema-valid placeholder when it is required.
A check's findings are kept only if it read no rejected section (reads are recorded), so
a placeholder never produces a problem of its own.
"""

from __future__ import annotations

import difflib
import functools

from marshmallow import Schema, ValidationError, fields

from .checks import CHECKS
from .normalise import normalise
from .problems import PathTuple, flatten_messages
from .schema import StudySchema

#: Schema-valid stand-ins for required sections the schema rejected.
_PLACEHOLDERS = {
    "key": "placeholder",
    "title": "placeholder",
    "consent": {"version": "0", "text": {}},
    "allocation": {"method": "simple"},
}
#: Sections of the normalised definition that are derived from several written ones.
_SOURCES = {
    "arms": {"arms", "factors", "fractional"},
    "default_locale": {"default_locale", "locales"},
    "allocation": {"allocation", "clusters", "stratification"},
}
_UNKNOWN = "Unknown field."


def validate(data: dict) -> tuple[dict | None, list[tuple[PathTuple, str]]]:
    """Return ``(normalised, problems)``; ``normalised`` is None unless there are no problems.

    Problems are ``(path, message)`` pairs, schema problems first, without repeats.
    """
    schema = StudySchema()
    bad: set = set()
    normalised = None
    try:
        loaded = schema.load(data)
        found = []
    except ValidationError as exc:
        found = flatten_messages(exc.messages)
        bad = {path[0] for path, _ in found if path}
        loaded = _load_valid_parts(schema, data, bad)
    if loaded is not None:
        normalised, derived = normalise(loaded)
        if not bad & _SOURCES["arms"]:
            found += derived
        if derived:
            bad.add("arms")  # cells could not be derived: arms is empty
        found += _checks(normalised, bad)
    found = list(dict.fromkeys(found))
    return (normalised if not found else None), found


def _load_valid_parts(schema: Schema, data: dict, bad: set) -> dict | None:
    kept = {k: v for k, v in data.items() if k in schema.fields and k not in bad}
    for key, placeholder in _PLACEHOLDERS.items():
        kept.setdefault(key, placeholder)
    try:
        return schema.load(kept)
    except ValidationError:  # a rejected section cannot be set aside; report the schema's word
        return None


class _Reads(dict):
    """A dict that records which keys were read, to tell what a check depended on."""

    def __init__(self, data: dict):
        super().__init__(data)
        self.read: set = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def _checks(normalised: dict, bad: set) -> list[tuple]:
    found = []
    for check in CHECKS:
        view = _Reads(normalised)
        problems = check(view)
        sources = set().union(*(_SOURCES.get(k, {k}) for k in view.read))
        if not sources & bad:
            found += problems
    return found


def explain(path: PathTuple, message: str) -> str:
    """Word marshmallow's unknown-field error, with the nearest known name.

    Called by the loader only for the problems it lists (at most 200): matching
    every key of a pasted blob would cost more than the rest of validation.
    """
    if message != _UNKNOWN or not path:
        return message
    known = field_names(_schema(), path[:-1])
    close = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.75)
    return f"unknown field; did you mean {close[0]!r}?" if close else "unknown field"


@functools.cache
def _schema() -> StudySchema:
    return StudySchema()  # only read for its field names


def field_names(schema: Schema, path: PathTuple) -> list[str]:
    """The field names the schema allows at ``path`` (a mapping in the document), else []."""
    node: Schema | fields.Field | None = schema
    for part in path:
        node = _step(node, part)
        if node is None:
            return []
    node = _as_schema(node)
    return list(node.fields) if isinstance(node, Schema) else []


def _as_schema(node):
    return node.schema if isinstance(node, fields.Nested) else node


def _step(node, part):
    node = _as_schema(node)
    if isinstance(node, Schema):
        return node.fields.get(part) if isinstance(part, str) else None
    if isinstance(node, fields.List):
        return node.inner if isinstance(part, int) else None
    if isinstance(node, fields.Dict):
        return node.value_field
    return None
