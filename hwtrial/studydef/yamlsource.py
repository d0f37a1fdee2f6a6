"""Parse study text (YAML or JSON) and find where a path sits in it.

PyYAML implements YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans, ``10:30``
is the integer 630 (base 60) and ``2024-05-01`` is a date. In a study file those are
factor levels, times of day and strings, so :class:`StudyLoader` resolves plain
scalars with the YAML 1.2 core schema instead.
"""

from __future__ import annotations

import json
import re

import yaml

from .problems import PathTuple, Problem

_FLOAT = r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"""


class StudyLoader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 core-schema scalars (no sexagesimals, dates or yes/no)."""

    yaml_implicit_resolvers: dict = {}


def _add(tag: str, pattern: str, first: str) -> None:
    StudyLoader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_add("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN")
StudyLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])
# No leading zeros: YAML 1.1 would read 010 as octal 8, 1.2 reads it as 10; keep it a string.
_add("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789")
_add("tag:yaml.org,2002:float", _FLOAT, "-+0123456789.")
_add("tag:yaml.org,2002:merge", r"^(?:<<)$", "<")


def _mark_problem(source: str, path: str, message: str, mark) -> Problem:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem(source, path, message, line, column)


def parse_text(text: str, source: str):
    """Parse study text into ``(data, root_node, problems)``.

    JSON (text starting with ``{``) is read with :mod:`json` first because PyYAML
    rejects some valid JSON (tabs); the YAML node tree is still composed, when
    possible, so that later problems can be given a line. On a syntax error
    ``data`` and ``root_node`` are None and ``problems`` holds one Problem.
    """
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, None, [Problem(source, "<json>", exc.msg, exc.lineno, exc.colno)]
        try:
            node = yaml.compose(text, Loader=StudyLoader)
        except yaml.YAMLError:
            node = None
        return data, node, []
    try:
        node = yaml.compose(text, Loader=StudyLoader)
        data = yaml.load(text, Loader=StudyLoader)  # noqa: S506 - StudyLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        return None, None, [_mark_problem(source, "<yaml>", exc.problem, exc.problem_mark)]
    except yaml.YAMLError as exc:
        return None, None, [Problem(source, "<yaml>", str(exc))]
    return data, node, []


def duplicate_keys(node, path: PathTuple = ()) -> list[tuple[PathTuple, yaml.Node]]:
    """Find mapping keys given twice; YAML loaders silently keep the last one."""
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                found.append(((*path, key), key_node))
            seen.add(key)
            found.extend(duplicate_keys(value_node, (*path, key)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.extend(duplicate_keys(item, (*path, index)))
    return found


def locate(node, path: PathTuple) -> tuple[int | None, int | None]:
    """Return the 1-based (line, column) of ``path`` in a composed YAML tree.

    A path that does not exist (a missing required key) is placed at the
    deepest part of it that does, which is where the coordinator must add it.
    """
    if node is None:
        return None, None
    mark = node.start_mark
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        mark, node = child
    return mark.line + 1, mark.column + 1


def _child(node, part):
    if isinstance(node, yaml.MappingNode):
        # Last duplicate wins, matching what the loader kept.
        for key_node, value_node in reversed(node.value):
            if key_node.value == str(part):
                # A scalar value starts on the key's line; a block value on the next one.
                return key_node.start_mark, value_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item = node.value[part]
            return item.start_mark, item
    return None
