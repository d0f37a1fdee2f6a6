"""Load and validate study definitions from files, text or parsed data."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path

from .definition import StudyDefinition
from .problems import PathTuple, Problem, StudyDefinitionError, format_path
from .validate import explain, validate
from .yamlsource import LineIndex, data_limits, duplicate_keys, line_index, locate, parse_text

#: Problems listed in full; a file with thousands (a pasted blob) gets a count for the rest.
MAX_PROBLEMS = 200


def load_study_file(path: str | PathLike) -> StudyDefinition:
    """Load and validate a study file (YAML, or JSON).

    Raises
    ------
    StudyDefinitionError
        Listing every problem, with lines; also when the file cannot be read.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyDefinitionError([Problem(source, "<file>", str(exc))]) from None
    return load_study_text(text, source)


def load_study_text(text: str, source: str = "<input>") -> StudyDefinition:
    """Load and validate study text (YAML or JSON), e.g. an API upload.

    Raises
    ------
    StudyDefinitionError
        Syntax errors with line and column; validation problems with lines.
    """
    data, node, problems = parse_text(text, source)
    if problems:
        raise StudyDefinitionError(problems)
    return _build(data, source, node)


def load_study_data(data: dict, source: str = "<input>") -> StudyDefinition:
    """Validate an already-parsed study (a JSON body, or stored ``StudyDefinition.data``).

    Raises
    ------
    StudyDefinitionError
        Validation problems (without lines: there is no text to point into).
    """
    limits = data_limits(data, source)  # parsed text was held to these limits while parsing
    if limits:
        raise StudyDefinitionError(limits)
    return _build(data, source, None)


def validate_paths(paths: Iterable[str | PathLike]) -> list[Problem]:
    """Validate study files; returns every problem in every file (empty: all valid)."""
    problems = []
    for path in paths:
        try:
            load_study_file(path)
        except StudyDefinitionError as exc:
            problems.extend(exc.problems)
    return problems


def _build(data, source: str, node) -> StudyDefinition:
    if not isinstance(data, dict):
        raise StudyDefinitionError([Problem(source, "<root>", "a study must be a mapping of keys",
                                            *locate(line_index(node), ()))])
    pairs = [(path, f"duplicate key {path[-1]!r}") for path, _ in duplicate_keys(node)]
    normalised, found = validate(data)
    pairs += found
    if pairs:
        raise StudyDefinitionError(_problems(source, node, data, pairs))
    return StudyDefinition(normalised, source)


def _problems(source: str, node, data: dict, pairs: list) -> list[Problem]:
    """Locate problems and list the first :data:`MAX_PROBLEMS` in document order.

    marshmallow reports unknown keys in set order; sorting by line lists them as written.
    """
    index = line_index(node)  # once: locating each problem by search was quadratic
    located = sorted(((_where(index, data, path), n) for n, (path, _) in enumerate(pairs)),
                     key=lambda item: (item[0][0] is None, item[0][0] or 0, item[1]))
    shown = []
    for (line, column), n in located[:MAX_PROBLEMS]:
        path, message = pairs[n]
        shown.append(Problem(source, format_path(path), explain(path, message), line, column))
    if len(pairs) > MAX_PROBLEMS:
        shown.append(Problem(source, "<root>", f"and {len(pairs) - MAX_PROBLEMS:,} more "
                                               "problems (fix these first)"))
    return shown


def _where(index: LineIndex, data: dict, path: PathTuple) -> tuple[int | None, int | None]:
    if path[:1] == ("arms",) and "arms" not in data and "factors" in data:
        # Factorial cells are derived, so point at the factors that made them.
        return locate(index, ("factors",))
    return locate(index, path)
