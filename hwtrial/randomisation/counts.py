"""Running marginal counts for minimisation: counts[factor][level][arm].

Minimisation only needs, for each factor, how many participants of each arm share the new
participant's level. Keeping those counts (rather than scanning the allocation history)
makes one allocation cost factors x arms operations however large the trial grows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MinimisationCounts:
    """Immutable table of counts per factor, level and arm.

    Attributes
    ----------
    arms : tuple of str
        Arm keys; every count row is aligned with this order.
    table : Mapping
        ``table[factor][level]`` is a tuple of counts, one per arm. Levels never seen are
        absent and read as zeros.
    """

    arms: tuple[str, ...]
    table: Mapping[str, Mapping[str, tuple[int, ...]]] = field(default_factory=dict)

    @classmethod
    def empty(cls, arms: Sequence[str]) -> MinimisationCounts:
        """Counts with nobody enrolled."""
        return cls(arms=tuple(arms), table={})

    def row(self, factor: str, level: str) -> tuple[int, ...]:
        """Counts per arm (in ``arms`` order) at ``level`` of ``factor``."""
        row = self.table.get(factor, {}).get(level)
        return row if row is not None else (0,) * len(self.arms)

    def __getitem__(self, factor: str) -> dict[str, dict[str, int]]:
        """``counts[factor][level][arm]`` view, as plain dicts."""
        levels = self.table.get(factor, {})
        return {lv: dict(zip(self.arms, row, strict=True)) for lv, row in levels.items()}

    def add(self, factor_levels: Mapping[str, str], arm: str) -> MinimisationCounts:
        """New counts with one participant at ``factor_levels`` added to ``arm``.

        Copies only the touched factor mappings, so the cost is independent of enrolment.
        """
        try:
            idx = self.arms.index(arm)
        except ValueError:
            raise ValueError(f"arm {arm!r} is not one of {self.arms!r}") from None
        table = dict(self.table)
        for factor, level in factor_levels.items():
            levels = dict(table.get(factor, {}))
            row = list(levels.get(level, (0,) * len(self.arms)))
            row[idx] += 1
            levels[level] = tuple(row)
            table[factor] = levels
        return MinimisationCounts(self.arms, table)

    @staticmethod
    def increments(factor_levels: Mapping[str, str], arm: str) -> list[tuple[str, str, str]]:
        """The ``(factor, level, arm)`` cells to increment by one, for an SQL update."""
        return [(f, lv, arm) for f, lv in factor_levels.items()]

    def to_nested(self) -> dict[str, dict[str, dict[str, int]]]:
        """Plain ``{factor: {level: {arm: n}}}``."""
        return {f: self[f] for f in self.table}

    @classmethod
    def from_nested(cls, arms: Sequence[str], nested: Mapping[str, Mapping[str, Mapping[str, int]]]) -> MinimisationCounts:
        """Build from ``{factor: {level: {arm: n}}}``; missing arms count zero."""
        arms_t = tuple(arms)
        table: dict[str, dict[str, tuple[int, ...]]] = {}
        for factor, levels in nested.items():
            for level, per_arm in levels.items():
                unknown = set(per_arm) - set(arms_t)
                if unknown:
                    raise ValueError(f"counts name unknown arms {sorted(unknown)!r}")
                row = tuple(int(per_arm.get(a, 0)) for a in arms_t)
                if min(row, default=0) < 0:
                    raise ValueError(f"counts must be non-negative, got {row!r} at {factor}={level}")
                table.setdefault(factor, {})[level] = row
        return cls(arms_t, table)

    def to_json(self) -> str:
        """JSON text ``{"arms": [...], "counts": {factor: {level: {arm: n}}}}``."""
        return json.dumps({"arms": list(self.arms), "counts": self.to_nested()}, sort_keys=True)

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> MinimisationCounts:
        """Inverse of :meth:`to_json`; accepts the text or the already-parsed dict."""
        obj = json.loads(data) if isinstance(data, str) else data
        return cls.from_nested(obj["arms"], obj.get("counts", {}))
