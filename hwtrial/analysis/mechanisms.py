"""Mechanisms: mediation through engagement and the complier average causal effect.

* :func:`mediation` — product of coefficients. ``a``: arm in ``mediator ~ arm + covs``;
  ``b`` and the direct effect ``c'``: ``outcome ~ arm + mediator + covs``; total ``c``:
  ``outcome ~ arm + covs``; all OLS with classical t inference (= R ``lm``). The indirect
  effect ``a * b`` gets a percentile bootstrap CI from ``n_boot`` row resamples drawn with
  an injected ``rng`` (same seed, same interval) and, for comparison, the Sobel (delta
  method) normal interval in ``extra``.
* :func:`cace` — two-stage least squares with randomisation as the instrument for
  adherence (``outcome ~ adherence + covs | arm + covs``, = ``AER::ivreg``). ``se="HC1"``
  (default) is ``sandwich::vcovHC(fit, type = "HC1")``; ``se="classical"`` is ivreg's own.
  Inference is t with ``n - k`` df, as ``lmtest::coeftest``.

Arms are two: the ``reference`` arm (default first in sorted order) is 0, the other 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hwtrial.analysis.results import Estimate, check_level


@dataclass(frozen=True)
class MediationResult:
    """Single-mediator analysis (arm -> mediator -> outcome).

    Attributes
    ----------
    a : Estimate
        Effect of arm on the mediator.
    b : Estimate
        Effect of the mediator on the outcome, adjusted for arm.
    direct : Estimate
        ``c'``, effect of arm on the outcome adjusted for the mediator.
    total : Estimate
        ``c``, effect of arm on the outcome (``= c' + a*b`` for OLS).
    indirect : Estimate
        ``a * b`` with the percentile bootstrap CI; ``se`` is the bootstrap SD; ``extra``
        holds ``sobel_se``, ``sobel_ci_low``/``sobel_ci_high`` and ``n_boot``.
    """

    a: Estimate
    b: Estimate
    direct: Estimate
    total: Estimate
    indirect: Estimate


def _columns(data, cols):
    for col in cols:
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    return data.dropna(subset=list(cols))


def _treatment(data, arm, reference) -> np.ndarray:
    arms = sorted(data[arm].astype(str).unique())
    if len(arms) != 2:
        raise ValueError(f"arm {arm!r} must have exactly 2 arms, found {arms}")
    reference = arms[0] if reference is None else str(reference)
    if reference not in arms:
        raise ValueError(f"reference {reference!r} is not an arm in the data")
    return (data[arm].astype(str) != reference).to_numpy(float)


def _ols(y, X, j, name, level, method) -> Estimate:
    """OLS coefficient ``j`` with classical SE and t(n - k) inference."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    df = X.shape[0] - X.shape[1]
    sigma2 = np.sum((y - X @ beta) ** 2) / df
    se = np.sqrt(sigma2 * np.linalg.inv(X.T @ X)[j, j])
    return _t_estimate(name, beta[j], se, df, len(y), level, method)


def _t_estimate(name, b, se, df, n, level, method, extra=None) -> Estimate:
    q = stats.t.isf((1 - level) / 2, df)
    return Estimate(name, float(b), float(se), float(b - q * se), float(b + q * se),
                    float(2 * stats.t.sf(abs(b / se), df)), n, method, level,
                    {"df": int(df), **(extra or {})})


def _ab(y, m, z, C) -> tuple[float, float]:
    a = np.linalg.lstsq(np.column_stack([z, C]), m, rcond=None)[0][0]
    b = np.linalg.lstsq(np.column_stack([m, z, C]), y, rcond=None)[0][0]
    return a, b


def mediation(data: pd.DataFrame, *, arm: str = "arm", mediator: str = "engagement",
              outcome: str = "followup", covariates=(), reference: str | None = None,
              n_boot: int = 2000, level: float = 0.95, rng=None) -> MediationResult:
    """Product-of-coefficients mediation with a seeded percentile bootstrap CI.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant; rows missing a used column are dropped.
    arm, mediator, outcome : str
        Column names (``mediator`` e.g. an engagement count or minutes).
    covariates : sequence of str
        Numeric covariates in all three models.
    reference : str, optional
        Control arm.
    n_boot : int
        Bootstrap resamples (at least 200).
    level : float
        Confidence level.
    rng : None, int or numpy.random.Generator
        Source of the resamples (``np.random.default_rng(rng)``).

    Returns
    -------
    MediationResult
    """
    level = check_level(level)
    if int(n_boot) < 200:
        raise ValueError(f"n_boot must be at least 200, got {n_boot!r}")
    rng = np.random.default_rng(rng)
    data = _columns(data, [arm, mediator, outcome, *covariates])
    z = _treatment(data, arm, reference)
    m = data[mediator].to_numpy(float)
    y = data[outcome].to_numpy(float)
    C = np.column_stack([np.ones(len(z)), data[list(covariates)].to_numpy(float)])
    a = _ols(m, np.column_stack([z, C]), 0, "a", level, "ols_t")
    b = _ols(y, np.column_stack([m, z, C]), 0, "b", level, "ols_t")
    direct = _ols(y, np.column_stack([m, z, C]), 1, "direct", level, "ols_t")
    total = _ols(y, np.column_stack([z, C]), 0, "total", level, "ols_t")
    boot = np.empty(int(n_boot))
    for i in range(len(boot)):
        idx = rng.integers(0, len(z), len(z))
        a_i, b_i = _ab(y[idx], m[idx], z[idx], C[idx])
        boot[i] = a_i * b_i
    return MediationResult(a, b, direct, total, _indirect(a, b, boot, level, len(z)))


def _indirect(a: Estimate, b: Estimate, boot: np.ndarray, level: float, n: int) -> Estimate:
    ab = a.estimate * b.estimate
    sobel = np.sqrt(b.estimate**2 * a.se**2 + a.estimate**2 * b.se**2)
    zq = stats.norm.isf((1 - level) / 2)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return Estimate("indirect", float(ab), float(boot.std(ddof=1)), float(lo), float(hi), None,
                    n, "product_of_coefficients_percentile_bootstrap", level,
                    {"n_boot": len(boot), "sobel_se": float(sobel),
                     "sobel_ci_low": float(ab - zq * sobel), "sobel_ci_high": float(ab + zq * sobel),
                     "sobel_p": float(2 * stats.norm.sf(abs(ab / sobel)))})


def cace(data: pd.DataFrame, *, arm: str = "arm", adherence: str = "completed",
         outcome: str = "followup", covariates=(), reference: str | None = None,
         se: str = "HC1", level: float = 0.95) -> Estimate:
    """Complier average causal effect by 2SLS, randomisation instrumenting adherence.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant.
    arm, adherence, outcome : str
        Column names; ``adherence`` is 0/1 (or a dose) actually received.
    covariates : sequence of str
        Exogenous numeric covariates (in both stages).
    reference : str, optional
        Control arm.
    se : {"HC1", "HC0", "classical"}
        Heteroskedasticity-robust (``vcovHC`` type) or ivreg's classical variance.
    level : float
        Confidence level.

    Returns
    -------
    Estimate
        The coefficient of ``adherence``; ``extra`` has ``df`` and the first-stage F.
    """
    level = check_level(level)
    if se not in ("HC1", "HC0", "classical"):
        raise ValueError(f"se must be 'HC1', 'HC0' or 'classical', got {se!r}")
    data = _columns(data, [arm, adherence, outcome, *covariates])
    z = _treatment(data, arm, reference)
    d = data[adherence].to_numpy(float)
    y = data[outcome].to_numpy(float)
    C = np.column_stack([np.ones(len(z)), data[list(covariates)].to_numpy(float)])
    X, Z = np.column_stack([d, C]), np.column_stack([z, C])
    first = np.linalg.lstsq(Z, d, rcond=None)[0]
    xhat = np.column_stack([Z @ first, C])
    beta = np.linalg.lstsq(xhat, y, rcond=None)[0]
    resid = y - X @ beta  # structural residuals use the actual adherence
    n, k = X.shape
    bread = np.linalg.inv(xhat.T @ xhat)
    if se == "classical":
        cov = bread * np.sum(resid**2) / (n - k)
    else:
        meat = (xhat * resid[:, None] ** 2).T @ xhat
        cov = bread @ meat @ bread * (n / (n - k) if se == "HC1" else 1.0)
    f_first = _first_stage_f(d, Z, C)
    return _t_estimate("cace", beta[0], np.sqrt(cov[0, 0]), n - k, n, level,
                       f"2sls_{se.lower()}_t", {"first_stage_F": f_first})


def _first_stage_f(d, Z, C) -> float:
    """F statistic of the instrument in the first stage (weak-instrument check)."""
    rss_full = np.sum((d - Z @ np.linalg.lstsq(Z, d, rcond=None)[0]) ** 2)
    rss_null = np.sum((d - C @ np.linalg.lstsq(C, d, rcond=None)[0]) ** 2)
    return float((rss_null - rss_full) / (rss_full / (len(d) - Z.shape[1])))
