"""Engagement counts (edits, words, minutes): negative binomial, GEE Poisson, arm summaries.

* :func:`negative_binomial` — NB2 GLM, one row per participant, ``count ~ arm +
  covariates`` (optional log offset for exposure). theta is the joint ML estimate
  (statsmodels ``NegativeBinomial`` by Newton), the coefficients and SEs are the GLM at that
  theta: exactly ``MASS::glm.nb`` (whose SEs also treat theta as known). Rate ratios with
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
from scipy import stats

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
    """

    rate_ratios: tuple[Estimate, ...]
    dispersion: float
    scale: float | None
    log_likelihood: float | None
    n_obs: int
    n_groups: int

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
    """
    level = check_level(level)
    data, y = _prepare(data, outcome, arm, [exposure] if exposure else [], covariates)
    X, names = arm_time_design(data, arm=arm, time=None, covariates=covariates,
                               reference=reference)
    offset = np.log(data[exposure].to_numpy(float)) if exposure else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        joint = sm.NegativeBinomial(y, X, offset=offset).fit(
            method="newton", maxiter=200, tol=1e-14, disp=0)
    if not joint.mle_retvals["converged"] or caught:
        raise RuntimeError(f"negative binomial fit did not converge: "
                           f"{[str(w.message) for w in caught]}")
    alpha = float(joint.params[-1])
    glm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset).fit(
        tol=1e-14, maxiter=200)
    rr = _rate_ratios(names, glm.params, glm.bse, len(y), level, "glm_nb_wald")
    return CountModelResult(rr, 1.0 / alpha, None, float(glm.llf), len(y), len(y))


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
