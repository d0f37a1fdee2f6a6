"""PyYAML's syntax errors in words a trial coordinator can act on.

PyYAML names parser states ("expected <block end>, but found '<block mapping start>'");
a coordinator needs what to change on which line. Each rule matches PyYAML's ``problem``
text and says which mark to report: the ``problem`` mark, or the ``context`` mark when
the mistake is where something was opened (an unclosed quote or bracket, a key whose ':'
is missing) rather than where PyYAML noticed it. Unknown errors keep PyYAML's text.
"""

from __future__ import annotations

import re

import yaml

_INDENT = ("this line is indented differently from the lines above it "
           "(check spaces; tabs are not allowed)")

#: (pattern on ``problem``, use the context mark?, message); ``{0}`` is the pattern's group.
_RULES: tuple[tuple[str, bool, str], ...] = (
    (r"found character '\\t' that cannot start any token",
     False, "a tab is used here; indent with spaces only (YAML does not allow tabs)"),
    (r"found character '(.)' that cannot start any token",
     False, "a value cannot start with '{0}'; put the value in quotes"),
    (r"expected <block end>, but found '<block (?:mapping|sequence) start>'", False, _INDENT),
    (r"expected <block end>, but found '-'",
     False, "a list item ('- ') where a key was expected; indent the list under its key"),
    (r"expected <block end>, but found '<scalar>'",
     False, "unexpected text after a value; if the value contains quotes, quote all of it, "
            "otherwise check the indentation"),
    (r"but found '[\]}]'", False, "this closing bracket has no matching opening one"),
    (r"expected <block end>, but found", False, _INDENT),
    (r"expected '<document start>', but found",
     False, "unexpected text after the end of the study; check this line's indentation"),
    (r"mapping values are not allowed here",
     False, "a ':' is not allowed here: quote a value that contains ': ' (e.g. \"A: B\"), "
            "or put a nested key on a new, indented line"),
    (r"could not find expected ':'",
     True, "this line has no ':' after its key (write key: value, with a space after the ':')"),
    (r"found unexpected (?:end of stream|document separator)",
     True, "this quoted value is never closed: add the matching closing quote"),
    (r"expected ',' or '\]', but got",
     True, "this [ list is not closed with ']', or its items are not separated by commas"),
    (r"expected ',' or '\}', but got",
     True, "this {{ mapping is not closed with '}}', or its entries are not separated by commas"),
    (r"found unknown escape character '(.)'",
     False, "'\\{0}' is not a valid escape in a double-quoted value; write '\\\\' for a "
            "backslash, or use single quotes"),
    (r"sequence entries are not allowed here",
     False, "a list item ('- ') is not allowed here; put it on its own line under its key"),
    (r"but found another document",
     False, "a study file holds one YAML document; remove the '---' line and what follows"),
    (r"found unhashable key", False, "a key must be a plain value, not a list or a mapping"),
    (r"expected the node content", False, "a value is missing here (or a '-' inside [ ])"),
    (r"expected chomping or indentation indicators",
     False, "after '|' or '>' only '-', '+' or a digit may follow on that line; "
            "start the text on the next line"),
)
_COMPILED = tuple((re.compile(p), ctx, m) for p, ctx, m in _RULES)


def plain_error(exc: yaml.MarkedYAMLError) -> tuple[str, yaml.Mark | None]:
    """Return ``(message, mark)`` for a PyYAML error: plain words and where to look."""
    problem = exc.problem or exc.context or str(exc)
    for pattern, use_context, message in _COMPILED:
        found = pattern.search(problem)
        if found:
            mark = exc.context_mark if use_context and exc.context_mark else exc.problem_mark
            return message.format(*found.groups()), mark
    return problem, exc.problem_mark
