"""Problems found in a study definition, and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: A path into the study document: field names and list indexes, outermost first.
PathTuple = tuple[str | int, ...]

#: Paths used for problems that are not about one place in the document.
SYNTAX_PATHS = ("<yaml>", "<json>")


def format_path(path: Sequence[str | int]) -> str:
    """Render ``("arms", 1, "features")`` as ``"arms[1].features"``.

    Parameters
    ----------
    path : sequence of str or int
        Field names and list indexes, outermost first.

    Returns
    -------
    str
        Dotted path with ``[i]`` indexes; ``"<root>"`` for the empty path.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a study definition.

    Attributes
    ----------
    source : str
        Where the definition came from (file path, ``"<input>"``).
    path : str
        Location in the document, e.g. ``"arms[1].features.reminders.times[0]"``;
        ``"<yaml>"``/``"<json>"`` for syntax errors.
    message : str
        What is wrong, written for a trial coordinator.
    line, column : int or None
        1-based position in the source text, when the text is known.
    """

    source: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = f"{self.source}: {self.path}: {self.message}"
        if self.line is None:
            return text
        # Syntax errors need the column to be found; for a field the line is enough.
        if self.column is not None and self.path in SYNTAX_PATHS:
            return f"{text} (line {self.line}, column {self.column})"
        return f"{text} (line {self.line})"


class StudyDefinitionError(ValueError):
    """A study definition is invalid; ``problems`` lists every problem found."""

    #: Code used in the API's error body.
    code = "invalid_study_definition"

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def to_json(self) -> dict:
        """Return the API's 422 body ``{"code": ..., "errors": {path: [message]}}``."""
        return {"code": self.code, "errors": problems_as_errors(self.problems)}


def problems_as_errors(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """Group problem messages by path, in order of first appearance.

    Parameters
    ----------
    problems : iterable of Problem

    Returns
    -------
    dict of str to list of str
        ``{path: [message, ...]}``, as used in the API's 422 error body.
    """
    errors: dict[str, list[str]] = {}
    for problem in problems:
        message = problem.message
        if problem.path in SYNTAX_PATHS and problem.line is not None:
            # A syntax error has no field to point at: its position is the message.
            message += f" (line {problem.line}, column {problem.column})"
        errors.setdefault(problem.path, []).append(message)
    return errors


def flatten_messages(messages, prefix: PathTuple = ()) -> list[tuple[PathTuple, str]]:
    """Turn marshmallow's nested ``ValidationError.messages`` into (path, message) pairs.

    ``_schema`` keys (schema-level validators) are reported at their parent path.
    """
    if isinstance(messages, str):
        return [(prefix, messages)]
    if isinstance(messages, Mapping):
        pairs = []
        for key, value in messages.items():
            sub = prefix if key == "_schema" else (*prefix, key)
            pairs.extend(flatten_messages(value, sub))
        return pairs
    pairs = []
    for item in messages:
        pairs.extend(flatten_messages(item, prefix))
    return pairs
