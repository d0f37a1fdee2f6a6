"""Frozen result objects returned by every allocation rule.

An allocation, once drawn, is written to the audit log as it is; freezing the objects
(and wrapping their mappings read-only) stops a later layer from editing the record
of what the randomisation actually did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_SCALARS = frozenset({str, int, float, bool, type(None)})


def _freeze(value: Any) -> Any:
    """Read-only copy of nested dicts/lists so diagnostics cannot be edited later."""
    # Exact type checks first: this runs on every allocation and ABC checks are slow.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict or isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """JSON-ready copy of a frozen value (mappings to dicts, tuples to lists)."""
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


@dataclass(frozen=True)
class Allocation:
    """One allocation decision.

    Attributes
    ----------
    arm : str
        Key of the arm (or factorial cell) chosen.
    probability : float
        Probability with which *this* arm was chosen under the rule, given the state
        the rule saw (for blocks: remaining slots of the arm / remaining slots).
    method : str
        ``"simple"``, ``"permuted_blocks"``, ``"minimisation"`` (the variant is in the
        diagnostics), ``"cluster_inherited"``, ``"smart_stage2"`` or ``"smart_stage2_fixed"``.
    diagnostics : Mapping
        Read-only details (a ``MappingProxyType`` passed in is taken as already frozen,
        which lets the rules skip a second copy on the hot path), e.g. ``{"imbalance": {arm: score}, "minimising_arms": [...],
        "took_minimising": bool}`` for minimisation or ``{"block_size": 6,
        "position": 2}`` for blocks.
    """

    arm: str
    probability: float
    method: str
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "probability", float(self.probability))
        if type(self.diagnostics) is not MappingProxyType:
            object.__setattr__(self, "diagnostics", _freeze(self.diagnostics))

    def __hash__(self) -> int:
        return hash((self.arm, self.probability, self.method))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the allocation audit row."""
        return {
            "arm": self.arm,
            "probability": self.probability,
            "method": self.method,
            "diagnostics": _thaw(self.diagnostics),
        }
