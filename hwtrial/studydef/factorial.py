"""Derive the cells (arms) of a 2^k (or fractional 2^(k-p)) factorial study.

Cell order and effect coding follow ``hwtrial.randomisation.factorial`` so that a
cell's arm key is the key the allocation rules use.
"""

from __future__ import annotations

import itertools
import math
import string

from .merge import conflicting_leaves, deep_merge
from .problems import format_path


def check_fractional(factors: list[dict], fractional: dict | None) -> list[tuple]:
    """Problems with a fractional generator such as ``{C: AB}`` (A = first factor)."""
    problems = []
    letters = set(string.ascii_uppercase[: len(factors)])
    for letter, word in (fractional or {}).items():
        used = set(word.lstrip("-"))
        if letter not in letters or not used <= letters:
            problems.append((("fractional", letter),
                             f"letters must name factors A..{max(letters)} in factor order"))
        elif letter in used or used & fractional.keys():
            problems.append((("fractional", letter),
                             f"{letter} = {word} must use only factors that are not generated"))
        elif len(word.lstrip("-")) != len(used):
            problems.append((("fractional", letter), f"{word} repeats a factor"))
    return problems


def cell_levels(k: int, fractional: dict | None) -> list[tuple[int, ...]]:
    """Level indexes of each cell, in the randomisation core's order.

    Base (non-generated) factors run through ``itertools.product`` with the first
    varying slowest; level 0 is coded -1 and level 1 is +1, and a generated
    factor's code is the product of its word's codes (negated for ``-AB``).
    """
    letters = string.ascii_uppercase[:k]
    gens = {g: (-1 if w.startswith("-") else 1, w.lstrip("-")) for g, w in (fractional or {}).items()}
    base = [c for c in letters if c not in gens]
    cells = []
    for combo in itertools.product((-1, 1), repeat=len(base)):
        code = dict(zip(base, combo, strict=True))
        for g, (sign, word) in gens.items():
            code[g] = sign * math.prod(code[c] for c in word)
        cells.append(tuple((code[c] + 1) // 2 for c in letters))
    return cells


def derive_cells(factors: list[dict], fractional: dict | None, complete) -> tuple[list, list]:
    """Return ``(arms, problems)`` for a factorial design.

    Cells are keyed ``factor=level|...`` and coded ``C1``, ``C2``, ... in
    :func:`cell_levels` order; features are the deep merge of each level's
    features, then completed by ``complete``. Two levels that set the same
    feature differently are a problem, reported once per pair.
    """
    arms, problems = [], {}
    for combo in cell_levels(len(factors), fractional):
        levels = [f["levels"][i] for f, i in zip(factors, combo, strict=True)]
        features: dict = {}
        for j, (level, i) in enumerate(zip(levels, combo, strict=True)):
            for leaf in conflicting_leaves(features, level["features"]):
                path = ("factors", j, "levels", i, "features", *leaf)
                problems[path] = (f"{format_path(leaf)} is also set by an earlier factor; "
                                  "each feature may be switched by one factor only")
            features = deep_merge(features, level["features"])
        arms.append({
            "key": "|".join(f"{f['key']}={lv['key']}" for f, lv in zip(factors, levels, strict=True)),
            "code": f"C{len(arms) + 1}",
            "label": ", ".join(f"{f.get('label') or f['key']}: {lv.get('label') or lv['key']}"
                               for f, lv in zip(factors, levels, strict=True)),
            "ratio": 1,
            "features": complete(features),
        })
    return arms, list(problems.items())
