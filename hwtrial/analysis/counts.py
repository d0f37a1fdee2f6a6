"""Engagement counts (edits, words, minutes): negative binomial, GEE Poisson, arm summaries.

* :func:`negative_binomial` — NB2 GLM, one row per participant, ``count ~ arm +
  covariates`` (optional log offset for exposure). theta and the coefficients are the
  joint ML estimate (:func:`fit_nb2`: Newton on ``(beta, log theta)`` with analytic
  derivatives from the Poisson fit, milliseconds at 100,000 rows), the SEs are the GLM's at
  that theta: exactly ``MASS::glm.nb`` (whose SEs also treat theta as known). Rate ratios with
  Wald CIs on the log scale (``exp(confint.default(fit))``), Wald z p-values.
* :func:`gee_poisson` — GEE Poisson, exchangeable working correlation, clustered by
  participant, robust (sandwich) SEs: ``geepack::geeglm(..., corstr = "exchangeable")``.
  statsmodels matches geepack when the correlation is estimated with ``ddof_scale=0``
  (geepack divides by the number of pairs and observations without subtracting p).
* :func:`arm_summaries` — mean per arm with a t interval (``t.test(x)$conf.int``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from hwtrial.analysis.mixed import arm_time_design
from hwtrial.analysis.results import Estimate, check_level


@dataclass(frozen=True)
class CountModelResult:
    """A log-link count model.

    Attributes
    ----------
    rate_ratios : tuple of Estimate
        ``exp(coefficient)`` per design column (the intercept is the reference-arm rate);
        ``se`` is on the log scale, the CI is ``exp`` of the Wald CI on the log scale.
    dispersion : float
        NB: theta (``glm.nb``'s ``theta``, variance ``mu + mu^2/theta``). GEE: the
        exchangeable working correlation alpha.
    scale : float or None
        GEE: Pearson scale ``sum(r^2) / N`` (geepack's ``dispersion``); NB: None.
    log_likelihood : float or None
        NB log-likelihood (= ``logLik(glm.nb)``); None for GEE.
    n_obs, n_groups : int
        Rows used and participants.
    boundary : bool
        NB only: the data show no overdispersion, so the likelihood is largest at
        ``theta = inf`` (the Poisson model). Then ``dispersion`` is ``inf`` and the estimates,
        SEs and log-likelihood are the Poisson GLM's, the limit of NB2 as theta grows.
    """

    rate_ratios: tuple[Estimate, ...]
    dispersion: float
    scale: float | None
    log_likelihood: float | None
    n_obs: int
    n_groups: int
    boundary: bool = False

    def rate_ratio(self, name: str) -> Estimate:
        """Return the rate ratio called ``name`` (e.g. ``"arm[reminder]"``)."""
        return {e.name: e for e in self.rate_ratios}[name]


def _rate_ratios(names, beta, se, n, level, method) -> tuple[Estimate, ...]:
    z = stats.norm.isf((1 - level) / 2)
    return tuple(
        Estimate(name, float(np.exp(b)), float(s), float(np.exp(b - z * s)),
                 float(np.exp(b + z * s)), float(2 * stats.norm.sf(abs(b / s))), n, method,
                 level, {"log_estimate": float(b)})
        for name, b, s in zip(names, beta, se, strict=True))


def _prepare(data, outcome, arm, extra, covariates):
    for col in (outcome, arm, *extra, *covariates):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    data = data.dropna(subset=[outcome, arm, *extra, *covariates])
    y = data[outcome].to_numpy(float)
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError(f"outcome {outcome!r} must hold non-negative whole counts")
    return data, y


def _poisson_start(y, X, offset, iterations: int = 25) -> np.ndarray:
    """Poisson IRLS coefficients: the NB2 fit's starting point (its mean model)."""
    beta = np.linalg.lstsq(X, np.log(y + 0.5) - offset, rcond=None)[0]
    for _ in range(iterations):
        mu = np.exp(X @ beta + offset)
        z = X @ beta + (y - mu) / mu
        step = np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (mu * z)) - beta
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def overdispersion_score(y, mu) -> float:
    """Score of the NB2 log-likelihood in ``alpha = 1/theta`` at ``alpha = 0`` (Poisson ``mu``)."""
    return float(0.5 * np.sum((y - mu) ** 2 - y))


def _moment_log_theta(y, mu) -> float:
    """log theta from the moments ``var = mu + mu^2/theta`` (bounded start for Newton)."""
    excess = np.sum((y - mu) ** 2 - mu)
    return float(np.log(np.sum(mu**2) / excess)) if excess > 0 else np.log(1e3)


def _nb2_loglik(y, mu, theta) -> float:
    return float(np.sum(special.gammaln(y + theta) - special.gammaln(theta)
                        - special.gammaln(y + 1) + theta * np.log(theta) + y * np.log(mu)
                        - (y + theta) * np.log(theta + mu)))


def _nb2_newton_step(y, X, offset, params) -> np.ndarray:
    """Newton step for ``(beta, log theta)`` from the analytic score and Hessian."""
    beta, theta = params[:-1], np.exp(params[-1])
    mu = np.exp(X @ beta + offset)
    tm = theta + mu
    d_eta = theta * (y - mu) / tm
    h_eta = -(y + theta) * mu * theta / tm**2
    d_th = (special.digamma(y + theta) - special.digamma(theta) + np.log(theta) + 1
            - np.log(tm) - (y + theta) / tm)
    h_th = (special.polygamma(1, y + theta) - special.polygamma(1, theta) + 1 / theta
            - 2 / tm + (y + theta) / tm**2)
    k = X.shape[1]
    grad = np.append(X.T @ d_eta, theta * d_th.sum())
    hess = np.empty((k + 1, k + 1))
    hess[:k, :k] = X.T @ (X * h_eta[:, None])
    hess[:k, k] = hess[k, :k] = X.T @ (theta * (y - mu) * mu / tm**2)
    hess[k, k] = theta**2 * h_th.sum() + theta * d_th.sum()
    return -np.linalg.solve(hess, grad)


def fit_nb2(y, X, offset=None, *, tol: float = 1e-10,
            maxiter: int = 100) -> tuple[np.ndarray, float, int]:
    """Maximum likelihood NB2 ``(beta, theta)`` by Newton on ``(beta, log theta)``.

    Starts from the Poisson fit and the moment estimate of theta; halves a step that lowers
    the likelihood. Converged when no parameter moves by more than ``tol``.

    The boundary is decided first, by a rule that does not depend on where an optimiser
    stops: at the Poisson fit (``alpha = 1/theta = 0``) the score of the NB2 log-likelihood
    in ``alpha`` is ``sum((y - mu)^2 - y) / 2`` (Cameron & Trivedi's overdispersion score).
    When it is ``<= 0`` the likelihood does not rise as alpha leaves 0, the maximum is at
    ``theta = inf`` and the Poisson coefficients are returned with ``theta = inf`` and 0
    iterations. Otherwise the maximum is at a finite theta, found by Newton.

    Returns
    -------
    (beta, theta, iterations) : tuple
        Raises RuntimeError when ``maxiter`` steps do not converge.
    """
    offset = np.zeros(len(y)) if offset is None else offset
    beta = _poisson_start(y, X, offset, iterations=100)
    mu = np.exp(X @ beta + offset)
    if overdispersion_score(y, mu) <= 0:
        return beta, float("inf"), 0
    params = np.append(beta, _moment_log_theta(y, np.exp(X @ beta + offset)))

    def loglik(p):
        return _nb2_loglik(y, np.exp(X @ p[:-1] + offset), np.exp(p[-1]))

    current = loglik(params)
    for iteration in range(1, maxiter + 1):
        step = _nb2_newton_step(y, X, offset, params)
        for _ in range(30):  # step-halving: Newton may overshoot far from the optimum
            candidate = loglik(params + step)
            if candidate >= current - 1e-9 * abs(current):
                break
            step = step / 2
        params, current = params + step, candidate
        if np.max(np.abs(step)) < tol:
            return params[:-1], float(np.exp(params[-1])), iteration
    raise RuntimeError(f"negative binomial fit did not converge in {maxiter} Newton steps "
                       f"(theta = {np.exp(params[-1]):.4g})")


def negative_binomial(data: pd.DataFrame, *, outcome: str = "edits", arm: str = "arm",
                      covariates=(), exposure: str | None = None,
                      reference: str | None = None, level: float = 0.95) -> CountModelResult:
    """Negative binomial (NB2) rate ratios per arm, as ``MASS::glm.nb``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant with the count column ``outcome`` and ``arm``.
    outcome, arm : str
        Column names.
    covariates : sequence of str
        Numeric covariates.
    exposure : str, optional
        Column of exposure times (e.g. days enrolled); ``log(exposure)`` is an offset.
    reference : str, optional
        Control arm; defaults to the first arm in sorted order.
    level : float
        Confidence level.

    Returns
    -------
    CountModelResult
        ``boundary`` is true, with ``dispersion = inf`` and the Poisson fit, when the data
        show no overdispersion (see :func:`fit_nb2`). Raises RuntimeError when the maximum
        likelihood fit does not converge.
    """
    level = check_level(level)
    data, y = _prepare(data, outcome, arm, [exposure] if exposure else [], covariates)
    X, names = arm_time_design(data, arm=arm, time=None, covariates=covariates,
                               reference=reference)
    offset = np.log(data[exposure].to_numpy(float)) if exposure else None
    beta, theta, _ = fit_nb2(y, X, offset)
    mu = np.exp(X @ beta + (0.0 if offset is None else offset))
    if np.isinf(theta):  # no overdispersion: the Poisson GLM, NB2's limit
        cov = np.linalg.inv(X.T @ (X * mu[:, None]))
        rr = _rate_ratios(names, beta, np.sqrt(np.diag(cov)), len(y), level, "poisson_wald_nb2_boundary")
        loglik = float(np.sum(y * np.log(mu) - mu - special.gammaln(y + 1)))
        return CountModelResult(rr, theta, None, loglik, len(y), len(y), boundary=True)
    # glm.nb's SEs: the GLM's expected information at the ML theta (theta held known)
    cov = np.linalg.inv(X.T @ (X * (mu * theta / (theta + mu))[:, None]))
    rr = _rate_ratios(names, beta, np.sqrt(np.diag(cov)), len(y), level, "glm_nb_wald")
    return CountModelResult(rr, theta, None, _nb2_loglik(y, mu, theta), len(y), len(y))


def gee_poisson(data: pd.DataFrame, *, outcome: str = "edits", arm: str = "arm",
                participant: str = "participant_id", time: str | None = "week",
                covariates=(), reference: str | None = None,
                level: float = 0.95) -> CountModelResult:
    """GEE Poisson with exchangeable working correlation and robust SEs (= ``geeglm``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long table, one row per participant and period.
    outcome, arm, participant : str
        Column names.
    time : str or None
        Numeric period column entered as a linear term (``None`` to leave it out); rows are
        ordered by it within participant.
    covariates, reference, level
        As :func:`negative_binomial`.

    Returns
    -------
    CountModelResult
        ``dispersion`` is the working correlation.
    """
    level = check_level(level)
    data, _ = _prepare(data, outcome, arm, [participant, *([time] if time else [])], covariates)
    data = data.sort_values([participant, *([time] if time else [])], kind="stable")
    y = data[outcome].to_numpy(float)
    X, names = arm_time_design(data, arm=arm, time=time, covariates=covariates,
                               reference=reference, interaction=False)
    groups = pd.factorize(data[participant])[0]
    model = sm.GEE(y, X, groups=groups, family=sm.families.Poisson(),
                   cov_struct=sm.cov_struct.Exchangeable())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(ddof_scale=0, maxiter=200, ctol=1e-12)
    if caught:
        raise RuntimeError(f"GEE fit failed: {[str(w.message) for w in caught]}")
    n_groups = int(groups.max()) + 1
    rr = _rate_ratios(names, fit.params, fit.bse, n_groups, level, "gee_poisson_exch_robust")
    resid = (y - fit.fittedvalues) / np.sqrt(fit.fittedvalues)
    return CountModelResult(rr, float(model.cov_struct.dep_params), float(np.mean(resid**2)),
                            None, len(y), n_groups)


def arm_summaries(data: pd.DataFrame, *, outcome: str = "minutes", arm: str = "arm",
                  level: float = 0.95) -> tuple[Estimate, ...]:
    """Mean of ``outcome`` per arm with a t interval (``n - 1`` df), as ``t.test``.

    Returns one :class:`Estimate` per arm in sorted order, named ``"mean[<arm>]"``;
    ``p_value`` is None (no hypothesis). Arms with fewer than 2 rows raise ValueError.
    """
    level = check_level(level)
    for col in (outcome, arm):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    out = []
    for name, x in data.dropna(subset=[outcome]).groupby(data[arm].astype(str))[outcome]:
        x = x.to_numpy(float)
        if len(x) < 2:
            raise ValueError(f"arm {name!r} has fewer than 2 values of {outcome!r}")
        se = x.std(ddof=1) / np.sqrt(len(x))
        q = stats.t.isf((1 - level) / 2, len(x) - 1)
        out.append(Estimate(f"mean[{name}]", float(x.mean()), float(se), float(x.mean() - q * se),
                            float(x.mean() + q * se), None, len(x), "mean_t", level))
    return tuple(out)
