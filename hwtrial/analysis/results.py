"""Result objects shared by every analysis in :mod:`hwtrial.analysis`.

Every statistic returns a frozen dataclass so that a number, once computed, cannot be
changed on its way to the API, the CLI or an export. ``to_dict`` gives the JSON shape the
results endpoint serves.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


def _plain(value: Any) -> Any:
    """Turn numpy scalars, tuples and nested results into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Estimate:
    """One estimated quantity with its uncertainty.

    Attributes
    ----------
    name : str
        What is estimated, e.g. ``"risk_difference"`` or ``"arm[B]"``.
    estimate : float
        Point estimate on the reported scale (ratios are on the ratio scale, not log).
    se : float or None
        Standard error on the scale the CI was built on (``None`` where the interval
        is not Wald-type, e.g. Wilson or Newcombe).
    ci_low, ci_high : float
        Confidence limits at ``level``.
    p_value : float or None
        Two-sided p-value of the null hypothesis stated by ``method``.
    n : int or None
        Number of units the estimate rests on.
    method : str
        Short name of the method, e.g. ``"newcombe_hybrid_score"``.
    level : float
        Confidence level of ``ci_low``/``ci_high``.
    """

    name: str
    estimate: float
    se: float | None
    ci_low: float
    ci_high: float
    p_value: float | None
    n: int | None
    method: str
    level: float = 0.95
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


def to_dict(result: Any) -> Any:
    """JSON-ready form of any result dataclass (or list/dict of them)."""
    return _plain(result)


def check_level(level: float) -> float:
    """Validate a confidence level; raise ``ValueError`` naming the option."""
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return float(level)
