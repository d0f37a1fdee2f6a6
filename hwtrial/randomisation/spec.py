"""The allocation section of a study file, validated once into frozen objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._arms import check_arms
from .blocks import check_block_sizes
from .factorial import FactorialDesign, factorial_design
from .minimisation import IMBALANCE_FUNCTIONS, VARIANTS

METHODS = ("simple", "permuted_blocks", "minimisation", "factorial", "cluster")
_KEYS = {"method", "arms", "block_sizes", "strata", "minimisation", "factorial", "cluster"}


@dataclass(frozen=True)
class MinimisationParams:
    """Minimisation options: ``factors``, ``weights`` (factor to weight), ``imbalance``,
    ``variant`` and ``p`` as taken by :func:`~hwtrial.randomisation.minimise`."""

    factors: tuple[str, ...]
    weights: dict[str, float]
    imbalance: str = "range"
    variant: str = "pocock_simon"
    p: float = 1.0


@dataclass(frozen=True)
class ClusterParams:
    """Cluster options: ``unit`` (participant field naming the cluster), the ``method``
    that allocates a new cluster, and the cluster-level ``covariates``."""

    unit: str
    method: str
    covariates: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllocationSpec:
    """Validated allocation design of one study.

    Attributes
    ----------
    method : str
        One of ``METHODS``.
    arms, ratios : tuple
        Arm keys and integer ratios; for ``"factorial"`` the cell keys, ratio 1 each.
    block_sizes : tuple of int
        Candidate block sizes (blocked rules only), multiples of ``sum(ratios)``.
    strata : tuple of str
        Stratification factors for blocked rules.
    minimisation : MinimisationParams or None
    factorial : FactorialDesign or None
    factorial_method : str or None
        ``"blocks"`` or ``"minimisation"`` over the cells.
    cluster : ClusterParams or None
    """

    method: str
    arms: tuple[str, ...]
    ratios: tuple[int, ...]
    block_sizes: tuple[int, ...] = ()
    strata: tuple[str, ...] = ()
    minimisation: MinimisationParams | None = None
    factorial: FactorialDesign | None = None
    factorial_method: str | None = None
    cluster: ClusterParams | None = None

    @property
    def rule(self) -> str:
        """The rule that draws: ``"simple"``, ``"permuted_blocks"`` or ``"minimisation"``."""
        if self.method == "factorial":
            return "permuted_blocks" if self.factorial_method == "blocks" else "minimisation"
        if self.method == "cluster":
            return self.cluster.method
        return self.method

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AllocationSpec:
        """Validate a plain dict (as produced by the study-file loader).

        Raises
        ------
        ValueError
            Naming the offending option.
        """
        unknown = set(d) - _KEYS
        if unknown:
            raise ValueError(f"unknown allocation options {sorted(unknown)!r}")
        method = d.get("method")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        factorial, fmethod = None, None
        if method == "factorial":
            factorial, fmethod = _factorial(d)
            arms = tuple(c.key for c in factorial.cells)
            ratios = (1,) * len(arms)
        else:
            arms, ratios = _arms(d.get("arms"), min_arms=1 if method == "simple" else 2)
        cluster = _cluster(d.get("cluster")) if method == "cluster" else None
        spec = cls(
            method=method,
            arms=arms,
            ratios=ratios,
            strata=_names(d.get("strata") or (), "strata"),
            factorial=factorial,
            factorial_method=fmethod,
            cluster=cluster,
        )
        return spec._with_rule_options(d)

    def _with_rule_options(self, d: Mapping[str, Any]) -> AllocationSpec:
        block_sizes, params = (), None
        if self.rule == "permuted_blocks":
            if not d.get("block_sizes"):
                raise ValueError(f"block_sizes is required for {self.method} with blocks")
            block_sizes = check_block_sizes(d["block_sizes"], self.ratios)
        elif self.rule == "minimisation":
            default = self.cluster.covariates if self.cluster else ()
            params = _minimisation(d.get("minimisation"), default)
        elif self.rule != "simple":
            raise ValueError(f"cluster.method must be simple, permuted_blocks or minimisation, got {self.rule!r}")
        return AllocationSpec(
            self.method, self.arms, self.ratios, block_sizes, self.strata,
            params, self.factorial, self.factorial_method, self.cluster,
        )


def _names(value, option: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{option} must be a list of non-empty names, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{option} must not repeat a name, got {value!r}")
    return tuple(value)


def _arms(value, min_arms: int = 2) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if not value or isinstance(value, (str, Mapping)):
        raise ValueError(f"arms must be a list of {{key, ratio}} entries, got {value!r}")
    keys, ratios = [], []
    for arm in value:
        if isinstance(arm, Mapping):
            if "key" not in arm:
                raise ValueError(f"arms entries need a key, got {dict(arm)!r}")
            keys.append(arm["key"])
            ratios.append(arm.get("ratio", 1))
        else:
            keys.append(arm)
            ratios.append(1)
    return check_arms(keys, ratios, min_arms=min_arms)


def _minimisation(value, default_factors) -> MinimisationParams:
    if value is None and default_factors:
        value = {"factors": list(default_factors)}
    if not isinstance(value, Mapping):
        raise ValueError("minimisation options are required for a minimisation rule")
    unknown = set(value) - {"factors", "weights", "imbalance", "variant", "p"}
    if unknown:
        raise ValueError(f"unknown minimisation options {sorted(unknown)!r}")
    factors = _names(value.get("factors") or (), "minimisation.factors")
    if not factors:
        raise ValueError("minimisation.factors must name at least one factor")
    weights = dict(value.get("weights") or {})
    if set(weights) - set(factors):
        raise ValueError(f"minimisation.weights names factors not in factors: {sorted(set(weights) - set(factors))!r}")
    weights = {f: float(weights.get(f, 1.0)) for f in factors}
    if any(not w >= 0 for w in weights.values()) or not any(weights.values()):
        raise ValueError(f"minimisation.weights must be non-negative and not all zero, got {weights!r}")
    imbalance = value.get("imbalance", "range")
    if imbalance not in IMBALANCE_FUNCTIONS:
        raise ValueError(f"minimisation.imbalance must be one of {IMBALANCE_FUNCTIONS}, got {imbalance!r}")
    variant = value.get("variant", "pocock_simon")
    if variant not in VARIANTS:
        raise ValueError(f"minimisation.variant must be one of {VARIANTS}, got {variant!r}")
    p = value.get("p", 1.0)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise ValueError(f"minimisation.p must be in (0, 1], got {p!r}")
    return MinimisationParams(factors, weights, imbalance, variant, float(p))


def _factorial(d) -> tuple[FactorialDesign, str]:
    if d.get("arms"):
        raise ValueError("arms must be omitted for a factorial design (the cells are the arms)")
    value = d.get("factorial")
    if not isinstance(value, Mapping) or not value.get("factors"):
        raise ValueError("factorial.factors is required for method 'factorial'")
    fmethod = value.get("method", "blocks")
    if fmethod not in ("blocks", "minimisation"):
        raise ValueError(f"factorial.method must be 'blocks' or 'minimisation', got {fmethod!r}")
    return factorial_design(value["factors"], value.get("fractional")), fmethod


def _cluster(value) -> ClusterParams:
    if not isinstance(value, Mapping) or not value.get("unit"):
        raise ValueError("cluster.unit is required for method 'cluster'")
    method = value.get("method", "permuted_blocks")
    if method not in ("simple", "permuted_blocks", "minimisation"):
        raise ValueError(f"cluster.method must be simple, permuted_blocks or minimisation, got {method!r}")
    return ClusterParams(str(value["unit"]), method, _names(value.get("covariates") or (), "cluster.covariates"))
