"""Studies randomised by therapist: random-intercept model, ICC, cluster-robust OLS.

Input is a tidy table, one row per participant, with columns ``therapist_id`` (the unit
of randomisation), ``arm``, the outcome (default ``followup``) and numeric covariates
(default ``baseline``).

* :func:`fit_therapist_model` — ``outcome ~ arm + covariates + (1 | therapist_id)`` by
  REML through the checked fit of :mod:`hwtrial.analysis.mixed` (= ``lme4::lmer``), with
  the ICC and a profile-likelihood CI for it.
* :func:`cluster_robust_ols` — OLS with the cluster sandwich. statsmodels' default
  correction ``G/(G-1) * (N-1)/(N-K)`` equals ``sandwich::vcovCL(fit, cluster = ~therapist_id,
  type = "HC1", cadjust = TRUE)``; tests and CIs use t with ``G - 1`` degrees of freedom
  (as ``lmtest::coeftest(fit, vcov. = V, df = G - 1)``), which matters with few therapists.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

from hwtrial.analysis.mixed import (
    MixedModelResult,
    RandomInterceptProfile,
    arm_time_design,
    fit_random_intercept,
)
from hwtrial.analysis.results import Estimate, check_level


@dataclass(frozen=True)
class ClusteredResult:
    """Therapist random-intercept analysis.

    Attributes
    ----------
    model : MixedModelResult
        The checked REML fit; fixed effects named ``Intercept``, ``arm[<level>]``, covariates.
    icc : Estimate
        ``var_therapist / (var_therapist + var_residual)``; ``se`` is None, the CI is the
        profile-likelihood interval (see :func:`icc_profile_ci`).
    n_clusters : int
        Number of therapists.
    """

    model: MixedModelResult
    icc: Estimate
    n_clusters: int


@dataclass(frozen=True)
class RobustOLSResult:
    """OLS with cluster-robust (CR1) standard errors.

    Attributes
    ----------
    coefficients : tuple of Estimate
        One per design column, t-based CI and p with ``n_clusters - 1`` df.
    n_clusters : int
        Number of clusters.
    n_obs : int
        Number of rows used.
    """

    coefficients: tuple[Estimate, ...]
    n_clusters: int
    n_obs: int

    def coef(self, name: str) -> Estimate:
        """Return the coefficient called ``name``; ``KeyError`` if there is none."""
        return {e.name: e for e in self.coefficients}[name]


def _design(data, outcome, arm, cluster, covariates, reference):
    for col in (outcome, arm, cluster, *covariates):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    data = data.dropna(subset=[outcome, arm, cluster, *covariates])
    X, names = arm_time_design(data, arm=arm, time=None, covariates=covariates,
                               reference=reference)
    return data, X, names


def icc_profile_ci(profile: RandomInterceptProfile, gamma_hat: float,
                   level: float = 0.95) -> tuple[float, float]:
    """Profile-likelihood CI for the ICC of a random-intercept model.

    The criterion profiled over beta and sigma^2 depends only on ``gamma`` (lme4's
    ``devfun`` in ``theta = sqrt(gamma)``); the limits solve ``crit(gamma) - crit(gamma_hat)
    = chi2_1(level)`` and map through the monotone ``icc = gamma / (1 + gamma)``. The lower
    limit is 0 when ``crit(0)`` lies within the cutoff (boundary).
    """
    level = check_level(level)
    cut = profile.criterion(gamma_hat) + stats.chi2.ppf(level, 1)

    def excess(g: float) -> float:
        return profile.criterion(g) - cut

    lo = 0.0 if excess(0.0) <= 0 else optimize.brentq(excess, 0.0, gamma_hat, xtol=1e-14)
    hi_bracket = max(gamma_hat, 1e-3) * 2
    while excess(hi_bracket) < 0:
        hi_bracket *= 2
    hi = optimize.brentq(excess, max(gamma_hat, 0.0), hi_bracket, xtol=1e-14)
    return lo / (1 + lo), hi / (1 + hi)


def fit_therapist_model(data: pd.DataFrame, *, outcome: str = "followup", arm: str = "arm",
                        cluster: str = "therapist_id", covariates=("baseline",),
                        reference: str | None = None, level: float = 0.95) -> ClusteredResult:
    """REML random-intercept model per therapist with the ICC and its profile CI.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant; rows missing any used column are dropped.
    outcome, arm, cluster : str
        Column names.
    covariates : sequence of str
        Numeric covariates (default ``("baseline",)``; pass ``()`` for none).
    reference : str, optional
        Control arm; defaults to the first arm in sorted order.
    level : float
        Confidence level for the fixed effects and the ICC.

    Returns
    -------
    ClusteredResult
    """
    level = check_level(level)
    data, X, names = _design(data, outcome, arm, cluster, covariates, reference)
    y = data[outcome].to_numpy(float)
    model = fit_random_intercept(y, X, data[cluster], names, reml=True, level=level)
    profile = RandomInterceptProfile.from_data(y, X, data[cluster], reml=True)
    gamma = model.group_variance / model.residual_variance
    lo, hi = icc_profile_ci(profile, gamma, level)
    icc = Estimate("icc", model.icc, None, lo, hi, None, model.n_groups,
                   "reml_profile_likelihood", level)
    return ClusteredResult(model=model, icc=icc, n_clusters=model.n_groups)


def cluster_robust_ols(data: pd.DataFrame, *, outcome: str = "followup", arm: str = "arm",
                       cluster: str = "therapist_id", covariates=("baseline",),
                       reference: str | None = None, level: float = 0.95) -> RobustOLSResult:
    """OLS ``outcome ~ arm + covariates`` with CR1 cluster-robust SEs and t(G-1) inference.

    Parameters are as :func:`fit_therapist_model`. The variance is statsmodels'
    ``cov_type="cluster"`` default (``G/(G-1) * (N-1)/(N-K)``), identical to
    ``sandwich::vcovCL(type = "HC1", cadjust = TRUE)``.

    Returns
    -------
    RobustOLSResult
    """
    level = check_level(level)
    data, X, names = _design(data, outcome, arm, cluster, covariates, reference)
    groups = pd.factorize(data[cluster])[0]
    n_clusters = int(groups.max()) + 1
    if n_clusters < 2:
        raise ValueError(f"cluster {cluster!r} must have at least 2 distinct values")
    fit = sm.OLS(data[outcome].to_numpy(float), X).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    df = n_clusters - 1
    q = stats.t.isf((1 - level) / 2, df)
    coefs = []
    for name, b, s in zip(names, fit.params, fit.bse, strict=True):
        p = 2 * stats.t.sf(abs(b / s), df)  # survival function: no p of exactly 0
        coefs.append(Estimate(name, float(b), float(s), float(b - q * s), float(b + q * s),
                              float(p), len(data), "ols_cluster_cr1_t", level,
                              {"df": df}))
    return RobustOLSResult(tuple(coefs), n_clusters, len(data))
