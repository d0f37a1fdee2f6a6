"""Minimisation: Pocock-Simon (1975) and Taves (1974), with unequal ratios.

Counts are ratio-adjusted (count / ratio) as in the unequal-allocation literature, so an
arm with ratio 3 is "balanced" when it holds three times as many participants. To keep
ties exact, adjusted counts are scaled by L = lcm(ratios) and handled as integers; scores
are divided back to count/ratio units only for reporting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from ._arms import check_arms, choose
from .counts import MinimisationCounts
from .results import Allocation
from .strata import MissingStratumFactor, level_of

IMBALANCE_FUNCTIONS = ("range", "variance", "sd")
VARIANTS = ("pocock_simon", "taves")
# Relative tolerance for ties: only sd (a square root) can produce inexact totals.
_TIE_RTOL = 1e-9


def _ps_range(rows, steps, weights):
    """Weighted total range after a hypothetical allocation to each arm (scaled units).

    Only the candidate arm's count moves, so the new range follows from the current
    lowest, second-lowest and highest counts without rebuilding each vector.
    """
    totals = [0.0] * len(steps)
    unit_steps = max(steps) == 1
    for row, w in zip(rows, weights, strict=True):
        if not w:
            continue
        base = row if unit_steps else [c * s for c, s in zip(row, steps, strict=True)]
        ordered = sorted(base)
        lo, lo2, hi = ordered[0], ordered[1], ordered[-1]
        for a, b in enumerate(base):
            v = b + steps[a]
            new_lo = (v if v < lo2 else lo2) if b == lo else lo
            totals[a] += w * ((v if v > hi else hi) - new_lo)
    return totals


def _ps_variance(rows, steps, weights, take_sqrt):
    """Weighted total sample variance (or sd) after a hypothetical allocation to each arm.

    Updates the sum and sum of squares for the one count that moves; the numerator
    k * sum(x^2) - (sum x)^2 stays an exact integer.
    """
    k = len(steps)
    denom = k * (k - 1)
    totals = [0.0] * k
    for row, w in zip(rows, weights, strict=True):
        if not w:
            continue
        base = [c * s for c, s in zip(row, steps, strict=True)]
        total, squares = sum(base), sum(b * b for b in base)
        for a, b in enumerate(base):
            s = steps[a]
            var = (k * (squares + (2 * b + s) * s) - (total + s) ** 2) / denom
            totals[a] += w * (math.sqrt(var) if take_sqrt else var)
    return totals


def _pocock_simon(rows, steps, weights, how):
    """Weighted total imbalance if the new participant joined each arm (scaled units)."""
    if how == "range":
        return _ps_range(rows, steps, weights)
    return _ps_variance(rows, steps, weights, take_sqrt=how == "sd")


def _taves(rows, steps, weights):
    """Weighted sum of each arm's adjusted counts at the participant's levels (scaled)."""
    totals = [0.0] * len(steps)
    for row, w in zip(rows, weights, strict=True):
        for a, (c, s) in enumerate(zip(row, steps, strict=True)):
            totals[a] += w * c * s
    return totals


def arm_probabilities(ratios: Sequence[int], minimising: Sequence[bool], p: float) -> list[float]:
    """Probability of each arm under the random element.

    The minimising arms share ``p`` in proportion to their ratios, the others share
    ``1 - p`` likewise; when every arm minimises, the ratio shares apply.
    """
    r_min = sum(r for r, m in zip(ratios, minimising, strict=True) if m)
    r_other = sum(ratios) - r_min
    if r_other == 0:
        return [r / r_min for r in ratios]
    return [p * r / r_min if m else (1.0 - p) * r / r_other for r, m in zip(ratios, minimising, strict=True)]


def _check_options(factor_levels, weights, imbalance, variant, p):
    if imbalance not in IMBALANCE_FUNCTIONS:
        raise ValueError(f"imbalance must be one of {IMBALANCE_FUNCTIONS}, got {imbalance!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if not 0.0 < float(p) <= 1.0:
        raise ValueError(f"p must be in (0, 1], got {p!r}")
    if not factor_levels:
        raise ValueError("factor_levels must name at least one factor")
    levels = {f: level_of(factor_levels, f) for f in factor_levels}
    if weights is None:
        return levels, [1.0] * len(levels)
    for f in weights:
        if f not in levels:
            raise MissingStratumFactor(f)
    w = [float(weights.get(f, math.nan)) for f in levels]
    if any(not (math.isfinite(x) and x >= 0) for x in w) or not any(w):
        raise ValueError(f"weights must be finite, non-negative, not all zero and cover every factor, got {dict(weights)!r}")
    return levels, w


@lru_cache(maxsize=64)
def _prepared(arms: tuple, ratios: tuple) -> tuple[tuple[str, ...], tuple[int, ...], int, list[int]]:
    """Validated arms and ratios, L = lcm(ratios) and the scaled step L / ratio per arm.

    Cached because the service calls with the same design on every allocation.
    """
    arms_t, ratios_t = check_arms(arms, ratios)
    big = math.lcm(*ratios_t)
    return arms_t, ratios_t, big, [big // r for r in ratios_t]


def _as_counts(arms_t, counts) -> MinimisationCounts:
    if not isinstance(counts, MinimisationCounts):
        counts = MinimisationCounts.from_nested(arms_t, counts)
    if counts.arms != arms_t:
        raise ValueError(f"counts arms {counts.arms!r} must equal arms {arms_t!r}")
    return counts


def minimise(
    arms: Sequence[str],
    ratios: Sequence[int],
    factor_levels: Mapping[str, str],
    counts: MinimisationCounts | Mapping,
    *,
    weights: Mapping[str, float] | None = None,
    imbalance: str = "range",
    variant: str = "pocock_simon",
    p: float = 1.0,
    rng=None,
) -> Allocation:
    """Allocate one participant by minimisation.

    Parameters
    ----------
    arms, ratios : sequence
        Arm keys and positive integer allocation ratios.
    factor_levels : mapping
        The new participant's level of every minimisation factor.
    counts : MinimisationCounts or mapping
        Counts before this participant, ``counts[factor][level][arm]``.
    weights : mapping, optional
        Weight per factor (default 1 each); zero switches a factor off.
    imbalance : {"range", "variance", "sd"}
        Imbalance function over ratio-adjusted counts (Pocock-Simon only).
    variant : {"pocock_simon", "taves"}
        Pocock-Simon scores the total imbalance after a hypothetical allocation to each
        arm; Taves scores each arm by its adjusted counts at the participant's levels.
    p : float
        Probability of taking the minimising arm(s); ties among minimising arms and the
        remaining ``1 - p`` among the others are split in proportion to the ratios.
    rng : None, int, sequence of int or numpy.random.Generator
        Source of randomness; the service passes ``stream_rng(seed, 0xA11C, sequence_no)``.

    Returns
    -------
    Allocation
        ``method="minimisation"``; ``probability`` is the chosen arm's probability under
        the rule; ``diagnostics`` holds ``imbalance`` (score per arm, count/ratio units),
        ``minimising_arms``, ``took_minimising``, ``variant``, ``p``.
    """
    rng = np.random.default_rng(rng)
    arms_t, ratios_t, big, steps = _prepared(tuple(arms), tuple(ratios))
    levels, w = _check_options(factor_levels, weights, imbalance, variant, p)
    counts = _as_counts(arms_t, counts)
    zeros = (0,) * len(arms_t)
    table = counts.table
    rows = [table.get(f, {}).get(lv, zeros) for f, lv in levels.items()]
    if variant == "taves":
        totals, unit = _taves(rows, steps, w), big
    else:
        totals = _pocock_simon(rows, steps, w, imbalance)
        unit = big * big if imbalance == "variance" else big
    low = min(totals)
    minimising = [t - low <= _TIE_RTOL * max(1.0, abs(low)) for t in totals]
    probs = arm_probabilities(ratios_t, minimising, float(p))
    i = choose(rng.random(), arms_t, probs)
    return Allocation(
        arm=arms_t[i],
        probability=probs[i],
        method="minimisation",
        # Built read-only here so Allocation need not copy it again.
        diagnostics=MappingProxyType({
            "imbalance": MappingProxyType({a: t / unit for a, t in zip(arms_t, totals, strict=True)}),
            "minimising_arms": tuple(a for a, m in zip(arms_t, minimising, strict=True) if m),
            "took_minimising": minimising[i],
            "variant": variant,
            "p": float(p),
        }),
    )
