"""PyYAML's syntax errors are reported in plain words, at the line to change."""

from __future__ import annotations

import pytest

from hwtrial.studydef import StudyDefinitionError, load_study_text

INDENT = ("this line is indented differently from the lines above it "
          "(check spaces; tabs are not allowed)")


def syntax_problem(text: str):
    with pytest.raises(StudyDefinitionError) as info:
        load_study_text(text, "x.yaml")
    (problem,) = info.value.problems
    assert problem.path == "<yaml>"
    return problem


@pytest.mark.parametrize(("text", "line", "message"), [
    ("key: x\narms:\n\t- key: a\n", 3,
     "a tab is used here; indent with spaces only (YAML does not allow tabs)"),
    ("key: x\nconsent:\n  version: '1'\n    text: a\n", 4, INDENT),
    ("key: x\nconsent:\n    version: '1'\n  text: a\n", 4, INDENT),
    ("arms:\n  - key: a\n - key: b\n", 3, INDENT),
    ("key: x\n- a\n", 2,
     "a list item ('- ') where a key was expected; indent the list under its key"),
], ids=["tab", "deeper", "shallower", "list-item", "list-in-mapping"])
def test_indentation(text, line, message):
    problem = syntax_problem(text)
    assert (problem.message, problem.line) == (message, line)


def test_the_message_reads_with_its_line_and_column():
    problem = syntax_problem("key: x\nconsent:\n  version: '1'\n    text: a\n")
    assert str(problem) == f"x.yaml: <yaml>: {INDENT} (line 4, column 5)"


@pytest.mark.parametrize("quote", ['"', "'"])
def test_unclosed_quote_points_at_where_it_opens(quote):
    problem = syntax_problem(f"key: x\ntitle: {quote}hello\nconsent: a\n")
    assert problem.message == "this quoted value is never closed: add the matching closing quote"
    assert (problem.line, problem.column) == (2, 8)


@pytest.mark.parametrize("text", ["key: x\ntitle Study\nconsent:\n  version: 1\n",
                                  "key: x\ntitle:Study\nconsent:\n  version: 1\n"],
                         ids=["no-colon", "no-space-after-colon"])
def test_missing_colon_points_at_the_key(text):
    problem = syntax_problem(text)
    assert problem.message == ("this line has no ':' after its key "
                               "(write key: value, with a space after the ':')")
    assert problem.line == 2


def test_colon_inside_an_unquoted_value():
    problem = syntax_problem("key: x\ntitle: Study: the sequel\n")
    assert problem.message.startswith("a ':' is not allowed here: quote a value that contains ': '")
    assert problem.line == 2


@pytest.mark.parametrize(("text", "line", "message"), [
    ("key: x\nlocales: [en, es\nconsent: a\n", 2,
     "this [ list is not closed with ']', or its items are not separated by commas"),
    ("key: x\nconsent: {version: 1\ntitle: t\n", 2,
     "this { mapping is not closed with '}', or its entries are not separated by commas"),
    ('key: x\ntitle: "C:\\dir"\n', 2,
     "'\\d' is not a valid escape in a double-quoted value; write '\\\\' for a backslash, "
     "or use single quotes"),
    ("key: x\ntitle: @home\n", 2, "a value cannot start with '@'; put the value in quotes"),
    ("key: x\n---\ntitle: t\n", 2,
     "a study file holds one YAML document; remove the '---' line and what follows"),
    ("[a, b]: 1\n", 1, "a key must be a plain value, not a list or a mapping"),
    ('key: x\ntitle: "a" b\n', 2, "unexpected text after a value; if the value contains quotes, "
                                  "quote all of it, otherwise check the indentation"),
    ("key: x\nlocales: - en\n", 2,
     "a list item ('- ') is not allowed here; put it on its own line under its key"),
    ("key: x\nlocales: [en, es]]\n", 2, "this closing bracket has no matching opening one"),
    ("key: x\nlocales: [en, - es]\n", 2, "a value is missing here (or a '-' inside [ ])"),
    ("key: x\ntext: |x\n  a\n", 2, "after '|' or '>' only '-', '+' or a digit may follow on "
                                    "that line; start the text on the next line"),
    ("key: x\narms:\n  - key: a\n  title: t\n", 4, INDENT),
    ("[key, x]\n title", 2,
     "unexpected text after the end of the study; check this line's indentation"),
], ids=["open-list", "open-mapping", "escape", "at-sign", "two-documents", "list-key",
        "text-after-quote", "dash-after-key", "extra-bracket", "dash-in-flow", "block-scalar",
        "key-beside-list", "after-flow-document"])
def test_other_common_mistakes(text, line, message):
    problem = syntax_problem(text)
    assert (problem.message, problem.line) == (message, line)


def test_an_unrecognised_error_keeps_pyyaml_words():
    problem = syntax_problem("key: x\ntitle: !!python/name:os.system ''\n")
    assert "python/name" in problem.message or "constructor" in problem.message
