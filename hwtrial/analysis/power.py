"""Power, sample size and minimum detectable effect for two-arm and 2^k factorial trials.

``power_proportions`` equals R ``power.prop.test`` and ``power_means`` equals R
``power.t.test(type = "two.sample")``: give every parameter but one and the missing one is
solved for (R solves with ``uniroot``; here ``brentq`` to ``xtol=1e-12``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, stats

ALTERNATIVES = ("two-sided", "one-sided")


@dataclass(frozen=True)
class PowerResult:
    """A solved power calculation.

    Attributes
    ----------
    n : float
        Participants per arm (not rounded; ``n_ceil`` rounds up).
    n_ceil : int
        ``ceil(n)``, the number to recruit per arm.
    power : float
        Probability of rejecting at ``alpha``.
    effect : dict
        Effect parameters: ``p1``/``p2`` or ``delta``/``sd``.
    alpha : float
        Significance level.
    alternative : str
        ``"two-sided"`` or ``"one-sided"``.
    method : str
        ``"power_prop_test"`` or ``"power_t_test"``.
    """

    n: float
    n_ceil: int
    power: float
    effect: dict
    alpha: float
    alternative: str
    method: str


def _check(alpha, alternative, given: dict) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    missing = [k for k, v in given.items() if v is None]
    if len(missing) != 1:
        raise ValueError(f"exactly one of {list(given)} must be None, got {missing}")
    if given.get("power") is not None and not alpha < given["power"] < 1:
        raise ValueError("power must be in (alpha, 1)")
    return 2.0 if alternative == "two-sided" else 1.0


def _solve(f, lo, hi) -> float:
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, maxiter=500))


def _prop_power(n, p1, p2, alpha, sides, strict) -> float:
    qu = stats.norm.isf(alpha / sides)
    d = abs(p1 - p2)
    v = p1 * (1 - p1) + p2 * (1 - p2)
    pooled = math.sqrt((p1 + p2) * (2 - p1 - p2) / 2)
    pw = stats.norm.cdf((math.sqrt(n) * d - qu * pooled) / math.sqrt(v))
    if strict and sides == 2:
        pw += stats.norm.sf((math.sqrt(n) * d + qu * pooled) / math.sqrt(v))
    return float(pw)


def power_proportions(
    *, n=None, p1=None, p2=None, power=None, alpha: float = 0.05,
    alternative: str = "two-sided", strict: bool = False,
) -> PowerResult:
    """Two-arm comparison of proportions (= R ``power.prop.test``).

    Parameters
    ----------
    n : float, optional
        Participants per arm.
    p1 : float
        Proportion in arm 1 (must be given).
    p2 : float, optional
        Proportion in arm 2; solving for it gives the minimum detectable proportion
        above ``p1``.
    power : float, optional
        Target power.
    alpha : float
        Significance level (R's ``sig.level``).
    alternative : {"two-sided", "one-sided"}
    strict : bool
        Count the rejection probability in the wrong tail too (two-sided only).
    """
    if p1 is None:
        raise ValueError("p1 must be given")
    sides = _check(alpha, alternative, {"n": n, "p2": p2, "power": power})
    f = lambda n_, p2_: _prop_power(n_, p1, p2_, alpha, sides, strict)  # noqa: E731
    if n is None:
        n = _solve(lambda x: f(x, p2) - power, 2, 1e7)
    elif p2 is None:
        p2 = _solve(lambda x: f(n, x) - power, p1 + 1e-10, 1 - 1e-10)
    power = f(n, p2)
    return PowerResult(n, math.ceil(n - 1e-9), power, {"p1": p1, "p2": p2}, alpha,
                       alternative, "power_prop_test")


def _t_power(n, delta, sd, alpha, sides, strict) -> float:
    nu = 2 * (n - 1)
    qu = stats.t.isf(alpha / sides, nu)
    ncp = math.sqrt(n / 2) * delta / sd
    pw = stats.nct.sf(qu, nu, ncp)
    if strict and sides == 2:
        pw += stats.nct.cdf(-qu, nu, ncp)
    return float(pw)


def power_means(
    *, n=None, delta=None, sd: float = 1.0, power=None, alpha: float = 0.05,
    alternative: str = "two-sided", strict: bool = False,
) -> PowerResult:
    """Two-arm comparison of means, noncentral t (= R ``power.t.test``, two-sample).

    Parameters
    ----------
    n : float, optional
        Participants per arm.
    delta : float, optional
        True difference in means; solving for it gives the minimum detectable effect.
    sd : float
        Common standard deviation.
    power : float, optional
        Target power.
    alpha, alternative, strict
        As in :func:`power_proportions`.
    """
    sides = _check(alpha, alternative, {"n": n, "delta": delta, "power": power})
    if sd <= 0:
        raise ValueError(f"sd must be positive, got {sd!r}")
    f = lambda n_, d_: _t_power(n_, d_, sd, alpha, sides, strict)  # noqa: E731
    if n is None:
        n = _solve(lambda x: f(x, delta) - power, 2, 1e7)
    elif delta is None:
        delta = _solve(lambda x: f(n, x) - power, sd * 1e-7, sd * 1e7)
    power = f(n, delta)
    return PowerResult(n, math.ceil(n - 1e-9), power, {"delta": delta, "sd": sd}, alpha,
                       alternative, "power_t_test")


@dataclass(frozen=True)
class FactorialPowerResult:
    """Power of one main effect in a balanced 2^k factorial.

    Attributes
    ----------
    k : int
        Number of two-level factors.
    n_total : float
        Total participants (``2 * per_level.n``).
    n_total_balanced : int
        ``n_total`` rounded up to a multiple of ``2**k`` so every cell is equal.
    n_per_cell : int
        ``n_total_balanced / 2**k``.
    per_level : PowerResult
        The equivalent two-arm calculation, ``n`` = participants per factor level.
    """

    k: int
    n_total: float
    n_total_balanced: int
    n_per_cell: int
    per_level: PowerResult


def power_factorial(k: int, *, n_total=None, outcome: str = "continuous", **kwargs):
    """Power / sample size / MDE of a main effect in a 2^k factorial.

    With effect coding (−1/+1) and no interactions, each main effect compares the
    ``N/2`` participants at the high level with the ``N/2`` at the low level, whatever
    ``k`` is; its difference ``Δ = 2β`` has variance ``4σ²/N``, exactly that of a
    two-arm trial with ``N/2`` per arm. So this is :func:`power_means` (or
    :func:`power_proportions`) with ``n = N/2``. The t reference uses ``N - 2`` df
    rather than the model's ``N - 2^k`` (slightly optimistic when ``N`` is small);
    interactions, if present, do not change a main effect's variance under effect
    coding but make it an average over the other factors' levels.

    Parameters
    ----------
    k : int
        Number of factors (>= 1).
    n_total : float, optional
        Total sample size; omit to solve for it.
    outcome : {"continuous", "binary"}
        Use :func:`power_means` (``delta``, ``sd``) or :func:`power_proportions`
        (``p1``, ``p2``: proportions at the low and high level).
    **kwargs
        Remaining arguments of the two-arm function.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if outcome not in ("continuous", "binary"):
        raise ValueError(f"outcome must be 'continuous' or 'binary', got {outcome!r}")
    fn = power_means if outcome == "continuous" else power_proportions
    per_level = fn(n=None if n_total is None else n_total / 2, **kwargs)
    cells = 2**k
    n_bal = cells * math.ceil(2 * per_level.n / cells - 1e-9)
    return FactorialPowerResult(k, 2 * per_level.n, n_bal, n_bal // cells, per_level)
