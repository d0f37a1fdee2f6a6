"""Derive the cells (arms) of a 2^k (or fractional 2^(k-p)) factorial study."""

from __future__ import annotations

import itertools
import math

from .merge import conflicting_leaves, deep_merge
from .problems import format_path


def check_fractional(factors: list[dict], fractional: dict | None) -> list[tuple]:
    """Problems with a fractional generator such as ``{C: AB}`` (A = first factor)."""
    if not fractional:
        return []
    problems = []
    letters = {chr(ord("A") + i) for i in range(len(factors))}
    for i, factor in enumerate(factors):
        if len(factor["levels"]) != 2:
            problems.append((("factors", i, "levels"),
                             "a fractional design needs exactly two levels per factor"))
    for letter, word in fractional.items():
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


def _kept(combo: tuple[int, ...], fractional: dict | None) -> bool:
    # Level 0 is coded -1 and level 1 is +1; a generated factor's code is the word's product.
    code = [2 * level - 1 for level in combo]
    for letter, word in (fractional or {}).items():
        sign = -1 if word.startswith("-") else 1
        product = math.prod(code[ord(c) - ord("A")] for c in word.lstrip("-"))
        if code[ord(letter) - ord("A")] != sign * product:
            return False
    return True


def derive_cells(factors: list[dict], fractional: dict | None, complete) -> tuple[list, list]:
    """Return ``(arms, problems)`` for a factorial design.

    Cells are in ``itertools.product`` order (the first factor varies slowest), keyed
    ``factor=level|...``, coded ``C1``, ``C2``, ...; features are the deep merge of
    each level's features, then completed by ``complete``. Two levels that set the
    same feature differently are a problem, reported once per pair.
    """
    arms, problems = [], {}
    ranges = [range(len(f["levels"])) for f in factors]
    for combo in itertools.product(*ranges):
        if not _kept(combo, fractional):
            continue
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
