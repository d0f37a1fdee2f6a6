"""Deep merge of plain dicts, optionally reporting leaves set to different values."""

from __future__ import annotations

import copy


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` updated recursively by ``override`` (override wins; lists replace)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def conflicting_leaves(a: dict, b: dict, prefix: tuple = ()) -> list[tuple]:
    """Paths that both ``a`` and ``b`` set, to different non-dict values."""
    found = []
    for key in a.keys() & b.keys():
        x, y = a[key], b[key]
        if isinstance(x, dict) and isinstance(y, dict):
            found.extend(conflicting_leaves(x, y, (*prefix, key)))
        elif x != y:
            found.append((*prefix, key))
    return sorted(found, key=str)
