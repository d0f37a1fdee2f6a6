"""Multiplicity: p-value adjustment (= R ``p.adjust``) and Dunnett many-to-one comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from hwtrial.analysis.results import Estimate, check_level
from hwtrial.analysis.twosample import positive_p

METHODS = ("bonferroni", "holm", "hochberg", "BH")


def adjust_pvalues(p_values, method: str = "holm") -> np.ndarray:
    """Adjusted p-values, same algorithm and order as R ``p.adjust``.

    Parameters
    ----------
    p_values : array_like
        Raw p-values; NaNs are kept and do not count towards the number of tests.
    method : {"bonferroni", "holm", "hochberg", "BH"}
        ``"BH"`` is Benjamini–Hochberg false discovery rate control.

    Returns
    -------
    ndarray
        Adjusted p-values in the input order.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    out[ok] = _adjust(p[ok], method)
    return out


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    n = p.size
    if n == 0:
        return p
    if method == "bonferroni":
        return np.minimum(1.0, n * p)
    if method == "holm":
        # step-down: multiply the i-th smallest by (n - i + 1), then enforce monotonicity
        o = np.argsort(p, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * p[o]))
    else:
        # step-up methods walk from the largest p downwards
        o = np.argsort(-p, kind="stable")
        i = np.arange(n, 0, -1)
        factor = (n - i + 1) if method == "hochberg" else n / i
        adj = np.minimum(1.0, np.minimum.accumulate(factor * p[o]))
    out = np.empty(n)
    out[o] = adj
    return out


@dataclass(frozen=True)
class DunnettResult:
    """Many-to-one comparisons of each arm with a control (Dunnett 1955).

    Attributes
    ----------
    comparisons : tuple of Estimate
        ``mean(arm) - mean(control)`` per arm (``name`` = arm label), pooled-variance SE,
        simultaneous CI at ``level`` and multiplicity-adjusted p-value.
    control : str
        Control arm label.
    statistics : tuple of float
        t statistics, in the order of ``comparisons``.
    df : int
        Residual degrees of freedom ``N - number of groups``.
    """

    comparisons: tuple[Estimate, ...]
    control: str
    statistics: tuple[float, ...]
    df: int


def dunnett(
    samples: Mapping[str, object],
    control: str,
    *,
    level: float = 0.95,
    alternative: str = "two-sided",
    rng=None,
) -> DunnettResult:
    """Dunnett's test of every arm against ``control`` (wraps ``scipy.stats.dunnett``).

    The multivariate-t probabilities are integrated by randomised quasi-Monte Carlo, so
    p-values and CI limits carry an integration error of about 1e-4 (as do R
    ``multcomp``'s); pass ``rng`` to make them reproducible.

    Parameters
    ----------
    samples : mapping of str to array_like
        Observations per arm, including the control arm.
    control : str
        Key of the control arm.
    level : float
        Simultaneous confidence level.
    alternative : {"two-sided", "less", "greater"}
        As in :func:`scipy.stats.dunnett`.
    rng : None, int or numpy Generator
        Randomness for the integration.
    """
    level = check_level(level)
    if control not in samples:
        raise ValueError(f"control {control!r} is not a key of samples")
    rng = np.random.default_rng(rng)
    arms = [a for a in samples if a != control]
    data = [np.asarray(samples[a], dtype=float) for a in arms]
    ctrl = np.asarray(samples[control], dtype=float)
    res = stats.dunnett(*data, control=ctrl, alternative=alternative, random_state=rng)
    ci = res.confidence_interval(confidence_level=level)
    n_total = ctrl.size + sum(d.size for d in data)
    df = n_total - len(samples)
    pooled_var = (sum(((d - d.mean()) ** 2).sum() for d in data)
                  + ((ctrl - ctrl.mean()) ** 2).sum()) / df
    comps = tuple(
        Estimate(str(a), float(d.mean() - ctrl.mean()),
                 float(np.sqrt(pooled_var * (1 / d.size + 1 / ctrl.size))),
                 float(ci.low[i]), float(ci.high[i]), positive_p(res.pvalue[i]),
                 int(d.size + ctrl.size), "dunnett", level)
        for i, (a, d) in enumerate(zip(arms, data, strict=True))
    )
    return DunnettResult(comps, control, tuple(float(s) for s in res.statistic), int(df))
