"""Two-sample comparisons of means: Welch t test from data or sufficient statistics.

The sufficient-statistics entry points let the service feed SQL aggregates
(``COUNT``, ``SUM``, ``SUM(x*x)``) without loading rows. Results equal R
``t.test(var.equal = FALSE)`` and, for the absolute and relative differences,
GrowthBook ``gbstats`` 0.8 ``TwoSidedTTest``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from hwtrial.analysis.results import Estimate, check_level

ALTERNATIVES = ("two-sided", "greater", "less")
_TINY = float(np.finfo(float).tiny)


def positive_p(p):
    """Floor p-values at the smallest normal double (~2.2e-308).

    Survival functions keep p positive down to that range; beyond it the true value is
    not representable, so the floor is reported as an upper bound instead of 0.
    """
    return np.maximum(p, _TINY) if isinstance(p, np.ndarray) else max(float(p), _TINY)


@dataclass(frozen=True)
class WelchResult:
    """Welch two-sample t test of group 1 against group 2.

    Attributes
    ----------
    difference : Estimate
        ``mean1 - mean2`` (or ``(mean1 - mean2) / mean2`` when ``relative``), its
        standard error, CI at ``level`` and p-value.
    statistic : float
        t statistic, ``difference / se``.
    df : float
        Welch–Satterthwaite degrees of freedom (of the absolute difference, also used
        for the relative one, as gbstats does).
    mean1, mean2 : float
        Group means.
    alternative : str
        ``"two-sided"``, ``"greater"`` (group 1 larger) or ``"less"``.
    """

    difference: Estimate
    statistic: float
    df: float
    mean1: float
    mean2: float
    alternative: str


def moments_from_sums(n: float, total: float, total_sq: float) -> tuple[float, float]:
    """Mean and unbiased variance from ``n``, ``sum(x)`` and ``sum(x**2)``.

    Parameters
    ----------
    n, total, total_sq : float
        Count, sum and sum of squares, e.g. from one SQL aggregate row.

    Returns
    -------
    (mean, variance) : tuple of float
        ``variance`` uses the ``n - 1`` denominator (0 when ``n <= 1``).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n!r}")
    mean = total / n
    var = (total_sq - total * total / n) / (n - 1) if n > 1 else 0.0
    return mean, var


def _t_p_and_ci(est: float, se: float, df: float, level: float, alternative: str):
    """p-value and CI of a t-based estimate; survival functions keep tiny p above 0.

    ``special.stdtr``/``stdtrit`` are what ``stats.t`` calls internally; calling them
    directly avoids the distribution-object overhead on the per-arm hot path.
    """
    t_stat = est / se
    if alternative == "two-sided":
        q = -special.stdtrit(df, (1.0 - level) / 2.0)
        return t_stat, 2.0 * special.stdtr(df, -abs(t_stat)), est - q * se, est + q * se
    q = -special.stdtrit(df, 1.0 - level)
    if alternative == "greater":
        return t_stat, special.stdtr(df, -t_stat), est - q * se, math.inf
    return t_stat, special.stdtr(df, t_stat), -math.inf, est + q * se


def welch_from_stats(
    n1: float,
    mean1: float,
    var1: float,
    n2: float,
    mean2: float,
    var2: float,
    *,
    level: float = 0.95,
    alternative: str = "two-sided",
    relative: bool = False,
) -> WelchResult:
    """Welch t test from per-group sufficient statistics.

    Parameters
    ----------
    n1, mean1, var1 : float
        Size, mean and unbiased variance of group 1 (e.g. treatment).
    n2, mean2, var2 : float
        The same for group 2 (e.g. control).
    level : float
        Confidence level.
    alternative : {"two-sided", "greater", "less"}
        Alternative hypothesis about ``mean1 - mean2``.
    relative : bool
        Report the relative lift ``(mean1 - mean2) / mean2`` with a delta-method SE
        (GrowthBook's ``difference_type="relative"``) instead of the absolute difference.

    Returns
    -------
    WelchResult
    """
    level = check_level(level)
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if n1 < 2 or n2 < 2:
        raise ValueError("n1 and n2 must each be at least 2")
    v1, v2 = var1 / n1, var2 / n2
    if not v1 + v2 > 0:  # also NaN: the standard error and Welch df are 0/0
        raise ValueError("both groups have zero variance; the difference has no standard error")
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    if relative:
        if mean2 == 0:
            raise ValueError("relative=True needs a non-zero mean2")
        est = (mean1 - mean2) / mean2
        se = math.sqrt(v1 / mean2**2 + v2 * mean1**2 / mean2**4)
    else:
        est, se = mean1 - mean2, math.sqrt(v1 + v2)
    t_stat, p, lo, hi = _t_p_and_ci(est, se, df, level, alternative)
    name = "relative_difference" if relative else "mean_difference"
    estimate = Estimate(name, est, se, lo, hi, positive_p(p), int(n1 + n2), "welch_t", level)
    return WelchResult(estimate, t_stat, df, mean1, mean2, alternative)


def welch_from_sums(
    n1: float, sum1: float, sumsq1: float, n2: float, sum2: float, sumsq2: float, **kwargs
) -> WelchResult:
    """Welch t test from counts, sums and sums of squares (see :func:`welch_from_stats`)."""
    m1, s1 = moments_from_sums(n1, sum1, sumsq1)
    m2, s2 = moments_from_sums(n2, sum2, sumsq2)
    return welch_from_stats(n1, m1, s1, n2, m2, s2, **kwargs)


def welch_from_counts(x1: float, n1: float, x2: float, n2: float, **kwargs) -> WelchResult:
    """Welch t test on 0/1 data from counts, with Bernoulli variance ``p(1 - p)``.

    This is GrowthBook's frequentist proportion test (``ProportionStatistic`` +
    ``TwoSidedTTest``): it uses the ``n`` (not ``n - 1``) variance and Welch df. For the
    pooled z / chi-square test and score intervals use
    :func:`hwtrial.analysis.proportions.proportions_from_counts`.
    """
    p1, p2 = x1 / n1, x2 / n2
    return welch_from_stats(n1, p1, p1 * (1 - p1), n2, p2, p2 * (1 - p2), **kwargs)


def welch_t_test(y1, y2, **kwargs) -> WelchResult:
    """Welch t test of two samples (= R ``t.test(y1, y2)``); NaNs are dropped.

    Parameters
    ----------
    y1, y2 : array_like
        Observations of group 1 and group 2.
    **kwargs
        ``level``, ``alternative``, ``relative`` as in :func:`welch_from_stats`.
    """
    a = np.asarray(y1, dtype=float)
    b = np.asarray(y2, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    return welch_from_stats(
        a.size, a.mean(), a.var(ddof=1), b.size, b.mean(), b.var(ddof=1), **kwargs
    )
