"""What an export table is: columns with their codebook entries, and where the rows come from.

A table is one :class:`Table` declaration (see :mod:`.tables`): its columns and one SQL query
whose select list is in column order. Writers, the codebook, blinding and de-identification
read only these declarations, so a table added later needs no new code path.

Pure: no Flask, no database session (the query is text, run by :mod:`.rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Column types and what each becomes in every format (README, Exports, and the codebook).
TYPES = ("integer", "number", "string", "boolean", "datetime", "category")

#: Stata's limit on variable names (SPSS allows 64); names are checked against it.
MAX_NAME = 32
#: Stata's limit on variable labels (SPSS allows 256 bytes): labels are cut here for both.
MAX_LABEL = 80
#: SPSS's limit on one value label (Stata allows 32,000 bytes).
MAX_VALUE_LABEL = 120

#: Column flags.
IDENTIFYING = "identifying"  #: a direct identifier: only with the identified-export permission
FREE_TEXT = "free-text"  #: written by a person; may identify (treated as identifying)
ARM_REVEALING = "arm-revealing"  #: tells arms apart: only for callers who may see arms


SqlText = str | Callable[[str], str]


@dataclass(frozen=True)
class StudyFacts:
    """What column lists and value labels may depend on: the study's (full) definition."""

    definition: Mapping[str, Any]
    arm_codes: Mapping[str, str]


@dataclass(frozen=True)
class Column:
    """One exported variable and its codebook entry.

    ``values`` (category columns) maps each stored value to its label; the labelled formats
    (SPSS, Stata) store the codes 1, 2, … in that order with the labels as value labels,
    CSV and Parquet store the value itself. ``sql`` is the column's expression in the
    table's query (defaults to ``name``).
    """

    name: str
    type: str
    label: str
    source: str
    unit: str = ""
    values: Mapping[str, str] | None = None
    flags: frozenset[str] = frozenset()
    sql: SqlText | None = None

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: type must be one of {TYPES}")
        if len(self.name) > MAX_NAME or not self.name.isidentifier() or not self.name.isascii():
            raise ValueError(f"column {self.name!r}: names are ASCII identifiers of <= {MAX_NAME} chars")
        if self.type == "category" and not self.values:
            raise ValueError(f"column {self.name}: a category needs its values")

    @property
    def hidden_unless_identified(self) -> bool:
        return IDENTIFYING in self.flags or FREE_TEXT in self.flags

    @property
    def arm_revealing(self) -> bool:
        return ARM_REVEALING in self.flags


def sql_text(value: SqlText | None, dialect: str) -> str | None:
    """A query fragment, given as text or as ``dialect -> text`` (JSON functions differ)."""
    return value(dialect) if callable(value) else value


@dataclass(frozen=True)
class Table:
    """One exported table.

    Attributes
    ----------
    name, label : str
        File name stem (``participants``) and a sentence for the codebook.
    columns : callable
        ``StudyFacts -> list[Column]``: the variables (some depend on the study, e.g. strata);
        each column's ``sql`` is its select expression.
    from_sql, where_sql, order_sql : str or callable
        FROM, WHERE (with the bound parameter ``:sid``, the study) and ORDER BY of the query.
    participant_sql : str or None
        The expression naming the participant (withdrawal filter and date shifting); None for
        tables not about one participant.
    arm_revealing : bool
        The whole table tells arms apart (reminders, decision points): left out for blinded callers.
    blinded_where : str
        Extra condition for blinded callers (rows that would tell arms apart).
    """

    name: str
    label: str
    columns: Callable[[StudyFacts], list[Column]]
    from_sql: SqlText
    where_sql: SqlText
    order_sql: str
    participant_sql: str | None = None
    arm_revealing: bool = False
    blinded_where: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def value_codes(column: Column) -> dict[str, int]:
    """Stored value → numeric code in SPSS and Stata (1, 2, … in declaration order)."""
    return {value: i + 1 for i, value in enumerate(column.values or {})}


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (SPSS and Stata count bytes), marked with '…'."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", "ignore") + "…"
