"""Parse study text (YAML or JSON) within limits, and index where each path sits in it.

PyYAML implements YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans, ``10:30``
is the integer 630 (base 60) and ``2024-05-01`` is a date. In a study file those are
factor levels, times of day and strings, so :class:`StudyLoader` resolves plain
scalars with the YAML 1.2 core schema instead.

A study file is small and written by hand, so the loader refuses what only an attack
needs (issue 9): anchors, aliases and merge keys (a 500-byte alias "billion laughs"
expands to 10^9 nodes), nesting deeper than :data:`MAX_DEPTH`, more than
:data:`MAX_NODES` nodes and more than :data:`MAX_BYTES` of text.
"""

from __future__ import annotations

import json
import re

import yaml

from .problems import PathTuple, Problem
from .yamlerrors import plain_error

#: Largest study text accepted (the API's HWTRIAL_MAX_CONTENT_LENGTH allows 4 MiB per request).
MAX_BYTES = 1024 * 1024
#: Deepest nesting of mappings and lists; real studies reach about 10.
MAX_DEPTH = 64
#: Most YAML nodes (scalars, mappings, lists) in one document; real studies have a few thousand.
MAX_NODES = 100_000

_FLOAT = r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"""


class StudyFileLimit(yaml.MarkedYAMLError):
    """The text uses something a study file may not (an alias, too deep, too many nodes)."""


class StudyLoader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 core-schema scalars and the study-file limits.

    No merge-key resolver is registered: ``<<`` is refused while composing.
    """

    yaml_implicit_resolvers: dict = {}

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise StudyFileLimit(problem=f"aliases (*{event.anchor}) are not allowed in a study "
                                 "file; write the value out", problem_mark=event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise StudyFileLimit(problem=f"anchors (&{event.anchor}) are not allowed in a study "
                                 "file; write the value out", problem_mark=event.start_mark)
        if (index is None and isinstance(parent, yaml.MappingNode)
                and isinstance(event, yaml.ScalarEvent) and event.value == "<<"
                and not event.style):  # plain: None from PyYAML, "" from libyaml
            raise StudyFileLimit(problem="merge keys (<<) are not allowed in a study file; "
                                 "write the keys out", problem_mark=event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise StudyFileLimit(problem=f"the study has more than {MAX_NODES:,} values; "
                                 "a study file is far smaller", problem_mark=event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise StudyFileLimit(problem=f"nested more than {MAX_DEPTH} levels deep",
                                 problem_mark=event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _add(tag: str, pattern: str, first: str) -> None:
    StudyLoader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_add("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN")
StudyLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])
# No leading zeros: YAML 1.1 would read 010 as octal 8, 1.2 reads it as 10; keep it a string.
_add("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789")
_add("tag:yaml.org,2002:float", _FLOAT, "-+0123456789.")


def _mark_problem(source: str, path: str, message: str, mark) -> Problem:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem(source, path, message, line, column)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastStudyLoader(CParser, StudyLoader):
        """libyaml's scanner and parser under :class:`StudyLoader`'s composer and limits.

        PyYAML's pure-Python scanner takes seconds per 500 KB; libyaml a tenth of that.
        The composing (limits, anchors) and resolving (YAML 1.2 scalars) stay in Python.
        """

        get_single_node = yaml.composer.Composer.get_single_node

        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._depth = 0
            self._nodes = 0
else:  # pragma: no cover - PyYAML built without libyaml
    _FastStudyLoader = None


def compose(text: str):
    """Compose ``text`` into one YAML node tree under the study-file limits.

    Returns ``(loader, node)``; the caller disposes of the loader. libyaml words its
    syntax errors differently, so on one the text is parsed again by PyYAML, whose
    messages :mod:`.yamlerrors` translates (an error is rare; the re-parse stops at it).
    """
    if _FastStudyLoader is not None:
        fast = _FastStudyLoader(text)
        try:
            return fast, fast.get_single_node()
        except StudyFileLimit:
            fast.dispose()
            raise
        except yaml.MarkedYAMLError as exc:
            fast.dispose()
            if "maximum nesting depth" in str(exc.problem):
                # libyaml looks ahead through thousands of [ or { before composing starts;
                # PyYAML's scanner would do so in quadratic time, so do not ask it.
                raise StudyFileLimit(problem=f"nested more than {MAX_DEPTH} levels deep",
                                     problem_mark=exc.problem_mark) from None
        except yaml.YAMLError:
            fast.dispose()
    loader = StudyLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def parse_text(text: str, source: str):
    """Parse study text into ``(data, root_node, problems)``.

    JSON (text starting with ``{``) is read with :mod:`json` first because PyYAML
    rejects some valid JSON (tabs); the YAML node tree is still composed, when
    possible, so that later problems can be given a line. On a syntax error or a
    broken limit ``data`` and ``root_node`` are None and ``problems`` holds one Problem.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return None, None, [Problem(source, "<file>", f"the study text is {size:,} bytes; "
                                    f"the limit is {MAX_BYTES:,} (1 MiB)")]
    if text.lstrip().startswith("{"):
        return _parse_json(text, source)
    try:
        loader, node = compose(text)
    except yaml.MarkedYAMLError as exc:
        return None, None, [_mark_problem(source, "<yaml>", *plain_error(exc))]
    except yaml.YAMLError as exc:
        return None, None, [Problem(source, "<yaml>", str(exc))]
    try:
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:  # e.g. an unhashable key such as [a, b]: 1
        return None, None, [_mark_problem(source, "<yaml>", *plain_error(exc))]
    finally:
        loader.dispose()
    return data, node, []


def _parse_json(text: str, source: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, None, [Problem(source, "<json>", exc.msg, exc.lineno, exc.colno)]
    except RecursionError:  # the C decoder recurses per level: thousands of [ or {
        return None, None, [Problem(source, "<json>", f"nested more than {MAX_DEPTH} levels deep")]
    found = data_limits(data, source)
    if found:
        return None, None, found
    try:
        loader, node = compose(text)
        loader.dispose()
    except yaml.YAMLError:
        node = None
    return data, node, []


def data_limits(data, source: str) -> list[Problem]:
    """Check parsed data (a JSON body) against :data:`MAX_DEPTH` and :data:`MAX_NODES`.

    Iterative, so a body nested thousands deep is reported instead of exhausting the stack.
    """
    stack, nodes = [(data, 1)], 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            return [Problem(source, "<root>", f"nested more than {MAX_DEPTH} levels deep")]
        if nodes > MAX_NODES:
            return [Problem(source, "<root>", f"the study has more than {MAX_NODES:,} values; "
                                              "a study file is far smaller")]
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
            nodes += len(value)  # keys are nodes too
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return []


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


LineIndex = dict[PathTuple, tuple[int, int]]


def line_index(node) -> LineIndex:
    """Map every path in a composed YAML tree to its 1-based ``(line, column)``, in one pass.

    Mapping keys are indexed as strings and list positions as ints. Where a key is
    repeated the last one wins, matching what the loader kept. A mapping entry is
    placed at its key (a scalar value starts on the key's line; a block value on the next).
    """
    if node is None:
        return {}
    index: LineIndex = {(): (node.start_mark.line + 1, node.start_mark.column + 1)}
    stack = [((), node)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            last = {str(k.value): (k.start_mark, v) for k, v in current.value}
            children = [(part, mark, v) for part, (mark, v) in last.items()]
        elif isinstance(current, yaml.SequenceNode):
            children = [(i, item.start_mark, item) for i, item in enumerate(current.value)]
        else:
            continue
        for part, mark, child in children:
            index[(*path, part)] = (mark.line + 1, mark.column + 1)
            stack.append(((*path, part), child))
    return index


def locate(index: LineIndex, path: PathTuple) -> tuple[int | None, int | None]:
    """Return the 1-based (line, column) of ``path`` from a :func:`line_index`.

    A path that does not exist (a missing required key) is placed at the
    deepest part of it that does, which is where the coordinator must add it.
    """
    if () not in index:
        return None, None
    where: PathTuple = ()
    for part in path:
        step = (*where, part)
        if step not in index:
            step = (*where, str(part))  # an int key of a mapping, e.g. a level named 1
            if step not in index:
                break
        where = step
    return index[where]
