"""Two-level factorial and fractional factorial designs (2^k and 2^(k-p)).

Each cell of the design is treated as an "arm" by the blocked or minimised allocation
rules, which balances allocation over all cells. Factors are lettered A, B, C, ... in the
order given; a generator such as ``{"C": "AB"}`` sets C's effect code to the product of
A's and B's, giving the defining relation I = ABC and its aliasing (A = BC, B = AC, C = AB).
"""

from __future__ import annotations

import itertools
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One cell of a two-level factorial design.

    Attributes
    ----------
    key : str
        Stable key, e.g. ``"reminders=on|self_review=off|framing=community"``; used as the
        arm key by the allocation rules.
    levels : dict
        Factor name to level.
    codes : dict
        Factor name to effect code, -1 for the first listed level and +1 for the second.
    """

    key: str
    levels: dict[str, str]
    codes: dict[str, int]

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True)
class FactorialDesign:
    """A full or fractional two-level factorial design.

    Attributes
    ----------
    factors : tuple of str
        Factor names in order; factor ``i`` has letter ``string.ascii_uppercase[i]``.
    cells : tuple of Cell
        The ``2**(k-p)`` cells to allocate over.
    generators : dict
        Generated letter to its generator word, e.g. ``{"C": "AB"}`` (``-AB`` for the
        other half-fraction).
    defining_relation : tuple of str
        Words equal to the identity, e.g. ``("ABC",)``; empty for a full factorial.
    aliases : dict
        Every main effect and two-factor interaction (letter words) to the effects it
        is aliased with, e.g. ``{"A": ("BC",), ...}``; empty tuples in a full factorial.
    resolution : int or None
        Length of the shortest word in the defining relation (``None`` when full).
    """

    factors: tuple[str, ...]
    cells: tuple[Cell, ...]
    generators: dict[str, str]
    defining_relation: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    resolution: int | None

    def named(self, word: str) -> str:
        """Letter word to factor names, e.g. ``"AB"`` to ``"reminders:self_review"``."""
        return ":".join(self.factors[string.ascii_uppercase.index(c)] for c in word)


def _check_factors(factors: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, str]]:
    if not factors:
        raise ValueError("factors must hold at least one factor")
    if len(factors) > 26:
        raise ValueError("factors must number at most 26 (one letter each)")
    out = {}
    for name, levels in factors.items():
        lv = tuple(str(x) for x in levels)
        if len(lv) != 2 or lv[0] == lv[1] or not all(lv):
            raise ValueError(f"factors[{name!r}] must list exactly two distinct levels, got {lv!r}")
        if any(c in s for s in (name, *lv) for c in "|="):
            raise ValueError(f"factors[{name!r}] names and levels must not contain '|' or '='")
        out[str(name)] = lv
    return out


def _letter(names: Sequence[str], ref: str) -> str:
    """Letter of a factor given by letter or by name."""
    if ref in names:
        return string.ascii_uppercase[list(names).index(ref)]
    if len(ref) == 1 and ref in string.ascii_uppercase[: len(names)]:
        return ref
    raise ValueError(f"fractional names unknown factor {ref!r}")


def _parse_generators(names, fractional) -> dict[str, tuple[int, str]]:
    """Generated letter to (sign, word of base letters)."""
    gens: dict[str, tuple[int, str]] = {}
    for key, value in (fractional or {}).items():
        sign = 1
        if isinstance(value, str):
            if value.startswith("-"):
                sign, value = -1, value[1:]
            refs = list(value)
        else:
            refs = list(value)
        word = "".join(sorted(_letter(names, r) for r in refs))
        gens[_letter(names, key)] = (sign, word)
    for g, (_, word) in gens.items():
        if len(word) < 2 or len(set(word)) != len(word) or set(word) & set(gens) or g in word:
            raise ValueError(f"fractional generator for {g} must be a product of two or more distinct base factors, got {word!r}")
    return gens


def _times(u: str, v: str) -> str:
    """Product of two effect words (letters squared cancel)."""
    return "".join(sorted(set(u) ^ set(v)))


def _aliasing(k: int, gens: dict[str, tuple[int, str]]):
    words = [_times(g, w) for g, (_, w) in gens.items()]
    relation = set()
    for n in range(1, len(words) + 1):
        for combo in itertools.combinations(words, n):
            w = ""
            for x in combo:
                w = _times(w, x)
            relation.add(w)
    relation_t = tuple(sorted(relation, key=lambda w: (len(w), w)))
    letters = string.ascii_uppercase[:k]
    effects = [*letters, *("".join(c) for c in itertools.combinations(letters, 2))]
    aliases = {e: tuple(sorted({_times(e, w) for w in relation_t}, key=lambda w: (len(w), w))) for e in effects}
    resolution = min((len(w) for w in relation_t), default=None)
    return relation_t, aliases, resolution


def factorial_design(
    factors: Mapping[str, Sequence[str]], fractional: Mapping[str, str | Sequence[str]] | None = None
) -> FactorialDesign:
    """Build a 2^k or 2^(k-p) design.

    Parameters
    ----------
    factors : mapping
        Factor name to its two levels (first level codes -1, second +1).
    fractional : mapping, optional
        Generators, generated factor (letter or name) to a word of base factors
        (letters like ``"AB"``, ``"-AB"``, or a list of names).

    Returns
    -------
    FactorialDesign
    """
    checked = _check_factors(factors)
    names = tuple(checked)
    gens = _parse_generators(names, fractional)
    base = [c for c in string.ascii_uppercase[: len(names)] if c not in gens]
    cells = []
    for combo in itertools.product((-1, 1), repeat=len(base)):
        code = dict(zip(base, combo, strict=True))
        for g, (sign, word) in gens.items():
            code[g] = sign * math.prod(code[c] for c in word)
        codes = {n: code[string.ascii_uppercase[i]] for i, n in enumerate(names)}
        levels = {n: checked[n][(codes[n] + 1) // 2] for n in names}
        key = "|".join(f"{n}={levels[n]}" for n in names)
        cells.append(Cell(key=key, levels=levels, codes=codes))
    relation, aliases, resolution = _aliasing(len(names), gens)
    generators = {g: ("-" if s < 0 else "") + w for g, (s, w) in gens.items()}
    return FactorialDesign(names, tuple(cells), generators, relation, aliases, resolution)


def factorial_cells(
    factors: Mapping[str, Sequence[str]], fractional: Mapping[str, str | Sequence[str]] | None = None
) -> list[Cell]:
    """Cells of a 2^k (or, with ``fractional``, 2^(k-p)) design; see :func:`factorial_design`."""
    return list(factorial_design(factors, fractional).cells)
