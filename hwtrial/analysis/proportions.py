"""Binomial proportions and two-group comparisons from counts.

Conventions: group 1 is the treatment, group 2 the comparator; differences and ratios are
group 1 relative to group 2. Nothing here applies a continuity correction.

References
----------
Newcombe RG (1998). Interval estimation for the difference between independent
proportions: comparison of eleven methods. Stat Med 17:873-890 (method 10).
Altman DG (1998). Confidence intervals for the number needed to treat. BMJ 317:1309.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from hwtrial.analysis.results import Estimate, check_level
from hwtrial.analysis.twosample import positive_p


def _z(level: float) -> float:
    return float(stats.norm.isf((1.0 - level) / 2.0))


def _check_counts(x: float, n: float, name: str) -> None:
    if n <= 0 or x < 0 or x > n:
        raise ValueError(f"{name}: need 0 <= count <= n and n > 0, got {x!r}/{n!r}")


def wilson_ci(x: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (= R ``prop.test(x, n, correct = FALSE)$conf.int``).

    Parameters
    ----------
    x, n : float
        Successes and trials.
    level : float
        Confidence level.

    Returns
    -------
    (low, high) : tuple of float
    """
    level = check_level(level)
    _check_counts(x, n, "x")
    z = _z(level)
    p = x / n
    z22n = z * z / (2.0 * n)
    half = z * math.sqrt(p * (1.0 - p) / n + z22n / (2.0 * n))
    low = 0.0 if p <= 0 else max(0.0, (p + z22n - half) / (1.0 + 2.0 * z22n))
    high = 1.0 if p >= 1 else min(1.0, (p + z22n + half) / (1.0 + 2.0 * z22n))
    return low, high


def proportion(x: float, n: float, level: float = 0.95, name: str = "proportion") -> Estimate:
    """Proportion ``x / n`` with its Wilson interval (``se`` is the Wald SE, for reference)."""
    low, high = wilson_ci(x, n, level)
    p = x / n
    return Estimate(name, p, math.sqrt(p * (1 - p) / n), low, high, None, int(n), "wilson", level)


def risk_difference(x1, n1, x2, n2, level: float = 0.95) -> Estimate:
    """Risk difference ``p1 - p2`` with Newcombe's hybrid score interval (method 10).

    The p-value is that of the pooled two-proportion z test (= ``prop.test(correct =
    FALSE)``), so it agrees with :func:`two_proportion_test`; ``se`` is None because the
    interval is not Wald-type.
    """
    _check_counts(x1, n1, "x1")
    _check_counts(x2, n2, "x2")
    l1, u1 = wilson_ci(x1, n1, level)
    l2, u2 = wilson_ci(x2, n2, level)
    p1, p2 = x1 / n1, x2 / n2
    rd = p1 - p2
    low = rd - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = rd + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    test = two_proportion_test(x1, n1, x2, n2)
    return Estimate(
        "risk_difference", rd, None, low, high, test.p_value, int(n1 + n2),
        "newcombe_hybrid_score", level,
    )


def _log_ratio(name, log_est, se, level, n, method) -> Estimate:
    """Ratio estimate with a Wald CI built on the log scale (``se`` is on the log scale)."""
    if not math.isfinite(se):
        nan = math.nan
        return Estimate(name, math.exp(log_est) if math.isfinite(log_est) else nan,
                        None, nan, nan, None, n, method, level,
                        {"note": "zero cell: log-scale CI undefined, no correction applied"})
    z = _z(level)
    p = positive_p(2.0 * stats.norm.sf(abs(log_est / se)))
    return Estimate(name, math.exp(log_est), se, math.exp(log_est - z * se),
                    math.exp(log_est + z * se), p, n, method, level)


def risk_ratio(x1, n1, x2, n2, level: float = 0.95) -> Estimate:
    """Risk ratio ``p1 / p2`` with the log-scale Wald CI (Katz); p-value is the Wald test."""
    level = check_level(level)
    _check_counts(x1, n1, "x1")
    _check_counts(x2, n2, "x2")
    if x1 == 0 or x2 == 0:
        return _log_ratio("risk_ratio", math.nan, math.inf, level, int(n1 + n2), "log_wald")
    log_rr = math.log((x1 / n1) / (x2 / n2))
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return _log_ratio("risk_ratio", log_rr, se, level, int(n1 + n2), "log_wald")


def odds_ratio(x1, n1, x2, n2, level: float = 0.95) -> Estimate:
    """Odds ratio with Woolf's log-scale CI; p-value is the Wald test of log OR = 0."""
    level = check_level(level)
    _check_counts(x1, n1, "x1")
    _check_counts(x2, n2, "x2")
    cells = (x1, n1 - x1, x2, n2 - x2)
    if min(cells) == 0:
        return _log_ratio("odds_ratio", math.nan, math.inf, level, int(n1 + n2), "woolf")
    log_or = math.log(cells[0] * cells[3] / (cells[1] * cells[2]))
    se = math.sqrt(sum(1.0 / c for c in cells))
    return _log_ratio("odds_ratio", log_or, se, level, int(n1 + n2), "woolf")


def number_needed_to_treat(rd: Estimate) -> Estimate:
    """NNT ``1 / RD`` with limits from inverting the RD interval (Altman 1998).

    Positive values are numbers needed to treat for one extra success in group 1
    (NNTB when success is good); negative values are numbers needed to harm.

    When the RD interval excludes 0, ``(ci_low, ci_high) = (1/rd_high, 1/rd_low)``
    (sorted). When it includes 0 the confidence set is **not** an interval: it is
    ``NNT <= 1/rd_low`` (harm side, negative) together with ``NNT >= 1/rd_high``
    (benefit side), passing through infinity. Then ``ci_low = 1/rd_low`` (negative),
    ``ci_high = 1/rd_high`` (positive) and ``extra["disjoint"]`` is True: the set is
    everything *outside* (ci_low, ci_high). An RD of exactly 0 gives ``estimate = inf``.
    """
    est = math.inf if rd.estimate == 0 else 1.0 / rd.estimate
    lo, hi = rd.ci_low, rd.ci_high
    disjoint = lo <= 0 <= hi
    inv = [math.inf if v == 0 else 1.0 / v for v in (lo, hi)]
    ci_low, ci_high = (inv[0], inv[1]) if disjoint else (min(inv), max(inv))
    return Estimate("nnt", est, None, ci_low, ci_high, rd.p_value, rd.n,
                    "inverted_" + rd.method, rd.level, {"disjoint": disjoint})


@dataclass(frozen=True)
class TwoProportionTest:
    """Pooled two-proportion z test (= R ``prop.test(correct = FALSE)``).

    Attributes
    ----------
    z : float
        ``(p1 - p2) / sqrt(p(1 - p)(1/n1 + 1/n2))`` with pooled ``p``.
    chi2 : float
        Pearson chi-square of the 2x2 table, equal to ``z**2`` (1 df).
    p_value : float
        Two-sided p-value.
    """

    z: float
    chi2: float
    p_value: float


def two_proportion_test(x1, n1, x2, n2) -> TwoProportionTest:
    """Pooled two-proportion z / Pearson chi-square test without continuity correction."""
    _check_counts(x1, n1, "x1")
    _check_counts(x2, n2, "x2")
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var == 0:
        return TwoProportionTest(0.0, 0.0, 1.0)
    z = (x1 / n1 - x2 / n2) / math.sqrt(var)
    return TwoProportionTest(z, z * z, positive_p(2.0 * stats.norm.sf(abs(z))))


@dataclass(frozen=True)
class TwoProportionResult:
    """Everything reported for a two-group binary outcome.

    Attributes
    ----------
    p1, p2 : Estimate
        Group proportions with Wilson intervals.
    risk_difference : Estimate
        ``p1 - p2``, Newcombe hybrid score CI.
    risk_ratio, odds_ratio : Estimate
        Log-scale Wald (Katz / Woolf) intervals; ``se`` on the log scale.
    nnt : Estimate
        Number needed to treat; see :func:`number_needed_to_treat` for the CI.
    test : TwoProportionTest
        Pooled z / chi-square test.
    """

    p1: Estimate
    p2: Estimate
    risk_difference: Estimate
    risk_ratio: Estimate
    odds_ratio: Estimate
    nnt: Estimate
    test: TwoProportionTest


def proportions_from_counts(x1, n1, x2, n2, *, level: float = 0.95) -> TwoProportionResult:
    """Compare two proportions from counts (sufficient statistics, e.g. SQL aggregates).

    Parameters
    ----------
    x1, n1 : int
        Successes and trials in group 1 (treatment).
    x2, n2 : int
        Successes and trials in group 2 (comparator).
    level : float
        Confidence level for every interval.

    Returns
    -------
    TwoProportionResult
    """
    level = check_level(level)
    rd = risk_difference(x1, n1, x2, n2, level)
    return TwoProportionResult(
        p1=proportion(x1, n1, level, "p1"),
        p2=proportion(x2, n2, level, "p2"),
        risk_difference=rd,
        risk_ratio=risk_ratio(x1, n1, x2, n2, level),
        odds_ratio=odds_ratio(x1, n1, x2, n2, level),
        nnt=number_needed_to_treat(rd),
        test=two_proportion_test(x1, n1, x2, n2),
    )
