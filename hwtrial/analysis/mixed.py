"""Linear mixed models with one random intercept, checked before they are believed.

statsmodels' ``MixedLM`` can report ``converged=True`` at a wrong point: when the random
intercept variance ratio falls below ``1e-10`` its GLS step zeroes every between-group fixed
effect (intercept, arm), statsmodels issue 10239; a start at ratio 0 is also a stationary
point of its square-root parameterisation, so a gradient optimiser never leaves it. For a
random-intercept model the likelihood profiled over the fixed effects and the residual
variance is a function of one number, the variance ratio ``gamma = var_group / var_resid``,
and can be evaluated exactly in closed form. This module therefore

1. fits statsmodels from several starts and optimisers (exceptions and warnings recorded),
2. re-evaluates each fit with the exact profiled criterion and recomputes its GLS fixed effects,
3. keeps the best fit that passes, and
4. raises :class:`ConvergenceError` if no fit passes, or if a one-dimensional bounded search
   of the exact criterion finds a materially better point than every statsmodels fit.

Fixed-effect SEs are ``sqrt(diag(sigma^2 (X'V^-1 X)^-1))`` at the chosen variance
components, lme4's ``vcov``; statsmodels' ``bse_fe`` (full observed Hessian) differs by ~1e-3
relative with unequal group sizes. The criterion reported is ``-2 log L`` (REML or ML) on lme4's scale, so it equals
``lme4::lmer``'s "REML criterion at convergence" / ``-2 * logLik``. p-values are Wald z
(``2 * norm.sf(|z|)``); lme4 gives none and the reference values compute the same z by hand.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.regression.mixed_linear_model import MixedLM

from hwtrial.analysis.results import Estimate, check_level

#: Optimiser runs tried in turn: (scipy method, start for the variance ratio or None for
#: statsmodels' default). Two different methods from two different starts.
DEFAULT_RUNS: tuple[tuple[str, float | None], ...] = (
    ("bfgs", None),
    ("powell", "moments"),
    ("lbfgs", "moments"),
)
#: A variance ratio below this is reported as on the boundary (variance estimated as zero).
BOUNDARY_RATIO = 1e-6
#: Criterion units (-2 log L) by which fits may differ before it counts as disagreement.
CRITERION_TOL = 1e-6


#: Tight tolerances per optimiser (only keywords MixedLM.fit passes on for that method), so
#: that variance components agree with lme4's bobyqa at rtol 1e-6 or better.
_TOLERANCES: dict[str, dict[str, float]] = {
    "bfgs": {"gtol": 1e-10, "maxiter": 5000},
    "cg": {"gtol": 1e-10, "maxiter": 5000},
    "powell": {"ftol": 1e-13, "maxiter": 5000},
    "nm": {"maxiter": 5000},
    "lbfgs": {"maxiter": 5000},
}


class ConvergenceError(RuntimeError):
    """The mixed model fit could not be confirmed as the optimum; no estimates are given."""


@dataclass(frozen=True)
class MixedModelResult:
    """A checked random-intercept linear mixed model.

    Attributes
    ----------
    fixed : tuple of Estimate
        Fixed effects in design order, Wald z SE, CI and p-value.
    group_variance : float
        Variance of the random intercept (lme4 ``VarCorr``).
    residual_variance : float
        Residual variance (lme4 ``sigma(fit)^2``).
    criterion : float
        ``-2 log L`` at the optimum, REML or ML as ``reml`` says (lme4's scale).
    reml : bool
        True if fitted by restricted maximum likelihood.
    on_boundary : bool
        True if the group variance was estimated as (numerically) zero; the fixed effects
        are then the OLS estimates and the model is a singular fit.
    optimizer : str
        The statsmodels run whose fit was kept, e.g. ``"powell@moments"``.
    n_obs, n_groups : int
        Number of rows and of groups (participants or clusters).
    diagnostics : dict
        Per run: criterion, gradient, error or warnings; and the reference 1-D optimum.
    """

    fixed: tuple[Estimate, ...]
    group_variance: float
    residual_variance: float
    criterion: float
    reml: bool
    on_boundary: bool
    optimizer: str
    n_obs: int
    n_groups: int
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def icc(self) -> float:
        """Intraclass correlation ``var_group / (var_group + var_resid)``."""
        return self.group_variance / (self.group_variance + self.residual_variance)

    def coef(self, name: str) -> Estimate:
        """Return the fixed effect called ``name``; ``KeyError`` if there is none."""
        for est in self.fixed:
            if est.name == name:
                return est
        raise KeyError(name)


@dataclass(frozen=True)
class RandomInterceptProfile:
    """Exact ``-2 log L`` of a random-intercept model profiled over beta and sigma^2.

    A function of the variance ratio ``gamma = var_group / var_resid`` alone (lme4's
    ``devfun`` in ``theta = sqrt(gamma)``); build it with :meth:`from_data`.
    """

    y: np.ndarray
    X: np.ndarray
    codes: np.ndarray
    sizes: np.ndarray
    reml: bool

    @classmethod
    def from_data(cls, y, X, groups, reml: bool = True) -> RandomInterceptProfile:
        """Profile for outcome ``y``, design ``X`` and group labels ``groups``."""
        codes = np.unique(np.asarray(groups), return_inverse=True)[1]
        return cls(np.asarray(y, float), np.asarray(X, float), codes,
                   np.bincount(codes).astype(float), bool(reml))

    @cached_property
    def _sums(self) -> tuple[np.ndarray, ...]:
        # Free of the variance ratio, so formed once: a bounded search evaluates gls ~30 times.
        # (cached_property writes the instance __dict__, which a frozen dataclass allows.)
        sx = np.zeros((len(self.sizes), self.X.shape[1]))
        np.add.at(sx, self.codes, self.X)
        sy = np.bincount(self.codes, self.y, minlength=len(self.sizes))
        return sx, sy, self.X.T @ self.X, self.X.T @ self.y, self.y @ self.y

    def gls(self, gamma: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        """GLS fit at variance ratio ``gamma``: beta, (X'V^-1X)^-1, sigma2, criterion."""
        sx, sy, xx, xy, yy = self._sums
        c = gamma / (1.0 + self.sizes * gamma)  # V_i^-1 = I - c_i J
        xtx = xx - (sx * c[:, None]).T @ sx
        xty = xy - (sx * c[:, None]).T @ sy
        yty = yy - np.sum(c * sy**2)
        beta = np.linalg.solve(xtx, xty)
        n, p = self.X.shape
        dof = n - p if self.reml else n
        sigma2 = (yty - beta @ xty) / dof
        crit = np.sum(np.log1p(self.sizes * gamma)) + dof * (1 + np.log(2 * np.pi * sigma2))
        if self.reml:
            crit += np.linalg.slogdet(xtx)[1]
        return beta, np.linalg.inv(xtx), sigma2, crit

    def criterion(self, gamma: float) -> float:
        return self.gls(gamma)[3]

    def best(self) -> tuple[float, float]:
        """Reference optimum by a bounded search on log(gamma), with gamma = 0 checked."""
        res = optimize.minimize_scalar(
            lambda t: self.criterion(np.exp(t)), bounds=(-25.0, 12.0), method="bounded",
            options={"xatol": 1e-10},
        )
        at_zero = self.criterion(0.0)
        if at_zero <= res.fun:
            return 0.0, at_zero
        return float(np.exp(res.x)), float(res.fun)


def _start(profile: RandomInterceptProfile, start: Any) -> np.ndarray | None:
    """Packed statsmodels start (square root of the ratio) for a named start."""
    if start is None:
        return None
    if start == "moments":
        # One-way ANOVA moment estimate of the ratio on OLS residuals, kept off zero.
        resid = profile.y - profile.X @ np.linalg.lstsq(profile.X, profile.y, rcond=None)[0]
        means = np.bincount(profile.codes, resid) / profile.sizes
        within = np.sum((resid - means[profile.codes]) ** 2) / (len(resid) - len(means))
        between = max(np.var(means, ddof=1) - within / np.mean(profile.sizes), 0.05 * within)
        return np.array([np.sqrt(between / within)])
    return np.array([np.sqrt(float(start))])


def _one_run(model: MixedLM, profile: RandomInterceptProfile, method: str, start: Any) -> dict[str, Any]:
    """Fit statsmodels once and judge the fit against the exact profile."""
    run: dict[str, Any] = {"method": method, "start": start}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(reml=profile.reml, method=method, start_params=_start(profile, start),
                            **_TOLERANCES.get(method, {}))
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            run["error"] = f"{type(exc).__name__}: {exc}"
            return run
    run["warnings"] = sorted({str(w.message) for w in caught})
    gamma = float(np.asarray(fit.cov_re_unscaled)[0, 0])
    beta, xtxi, sigma2, crit = profile.gls(gamma)
    run.update(gamma=gamma, criterion=float(crit), converged=bool(fit.converged), fit=fit,
               gls=(beta, xtxi, sigma2))
    run["fe_matches_gls"] = bool(np.allclose(fit.fe_params, beta, rtol=1e-6, atol=1e-8))
    run["gradient"] = _gradient(profile, gamma)
    return run


def _gradient(profile: RandomInterceptProfile, gamma: float) -> float:
    """d criterion / d log(gamma) (interior) or d criterion / d gamma at the boundary."""
    if gamma < BOUNDARY_RATIO:
        h = 1e-7
        return (profile.criterion(h) - profile.criterion(0.0)) / h
    h = 1e-5
    return (profile.criterion(gamma * np.exp(h)) - profile.criterion(gamma * np.exp(-h))) / (2 * h)


def _acceptable(run: dict[str, Any]) -> bool:
    """A run passes if it converged, its fixed effects are the GLS ones and it is stationary."""
    if "error" in run or not run["converged"] or not run["fe_matches_gls"]:
        return False
    if run["gamma"] < BOUNDARY_RATIO:
        return run["gradient"] > -1e-4  # at zero the criterion must not decrease inwards
    return abs(run["gradient"]) < 1e-4


def _fixed_estimates(names, beta, se, n, level, method) -> tuple[Estimate, ...]:
    z = stats.norm.isf((1 - level) / 2)
    out = []
    for name, b, s in zip(names, beta, se, strict=True):
        p = 2 * stats.norm.sf(abs(b / s))
        out.append(Estimate(name, float(b), float(s), float(b - z * s), float(b + z * s),
                            float(p), n, method, level))
    return tuple(out)


def _choose(runs: list[dict[str, Any]], profile: RandomInterceptProfile) -> dict[str, Any]:
    """Best passing run; raise ConvergenceError if none passes or the reference beats it."""
    ok = [r for r in runs if _acceptable(r)]
    ref_gamma, ref_crit = profile.best()
    summary = [{k: v for k, v in r.items() if k not in ("fit", "gls")} for r in runs]
    if not ok:
        raise ConvergenceError(f"no statsmodels MixedLM run passed the checks: {summary}")
    best = min(ok, key=lambda r: r["criterion"])
    if best["criterion"] > ref_crit + CRITERION_TOL:
        raise ConvergenceError(
            f"statsmodels stopped at criterion {best['criterion']:.8f} (ratio {best['gamma']:.3g})"
            f" but ratio {ref_gamma:.3g} gives {ref_crit:.8f}: {summary}")
    hess = np.asarray(best["fit"].cov_params())[: profile.X.shape[1], : profile.X.shape[1]]
    if not np.all(np.isfinite(hess)) or np.linalg.eigvalsh(hess).min() <= 0:
        raise ConvergenceError("covariance of the fixed effects is not positive definite")
    best["diagnostics"] = {"runs": summary, "reference_ratio": ref_gamma,
                           "reference_criterion": ref_crit}
    return best


def fit_random_intercept(y, X, groups, names, *, reml: bool = True, level: float = 0.95,
                         runs=DEFAULT_RUNS) -> MixedModelResult:
    """Fit ``y = X beta + u[group] + e`` with a checked statsmodels MixedLM.

    Parameters
    ----------
    y : array_like, shape (n,)
        Outcome.
    X : array_like, shape (n, p)
        Fixed-effects design, full column rank, including the intercept column.
    groups : array_like, shape (n,)
        Group label per row (participant or therapist).
    names : sequence of str
        Names of the columns of ``X``.
    reml : bool
        REML (default, as ``lmer``) or ML (``REML = FALSE``).
    level : float
        Confidence level of the Wald intervals.
    runs : sequence of (method, start)
        Optimiser runs (see :data:`DEFAULT_RUNS`); ``start`` is a variance ratio,
        ``"moments"`` or ``None``.

    Returns
    -------
    MixedModelResult

    Raises
    ------
    ConvergenceError
        If no run passes the checks or a better optimum exists than every run found.
    """
    level = check_level(level)
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    labels = np.unique(np.asarray(groups))
    if not runs:
        raise ValueError("runs must name at least one optimiser run")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("X must have full column rank (check the design)")
    profile = RandomInterceptProfile.from_data(y, X, groups, reml)
    model = MixedLM(y, X, profile.codes, exog_re=np.ones((len(y), 1)))
    best = _choose([_one_run(model, profile, m, s) for m, s in runs], profile)
    fit = best["fit"]
    sigma2 = float(fit.scale)
    method = f"lmm_{'reml' if reml else 'ml'}_wald_z"
    # SEs conditional on the variance components, sigma^2 (X'V^-1 X)^-1, as lme4's vcov():
    # statsmodels' bse_fe come from the full observed Hessian, whose fixed/variance cross
    # terms are not zero for REML with unequal group sizes (they differ from lme4 by ~1e-3).
    se = np.sqrt(sigma2 * np.diag(best["gls"][1]))
    fixed = _fixed_estimates(names, fit.fe_params, se, len(labels), level, method)
    return MixedModelResult(
        fixed=fixed, group_variance=best["gamma"] * sigma2, residual_variance=sigma2,
        criterion=best["criterion"], reml=bool(reml), on_boundary=best["gamma"] < BOUNDARY_RATIO,
        optimizer=f"{best['method']}@{best['start']}", n_obs=len(y), n_groups=len(labels),
        diagnostics=best["diagnostics"])


def arm_time_design(data: pd.DataFrame, *, arm: str = "arm", time: str | None = "time",
                    covariates=(), time_categorical: bool = False,
                    reference: str | None = None,
                    interaction: bool = True) -> tuple[np.ndarray, list[str]]:
    """Design matrix for ``outcome ~ arm * time + covariates`` (treatment coding).

    Columns are ``Intercept``, ``arm[<level>]`` per non-reference arm, ``time`` (or
    ``time[<t>]`` per non-first time when ``time_categorical``), the covariates, then the
    ``arm[..]:time..`` interactions (lme4's column order). ``reference`` defaults to the
    first arm in sorted order. ``interaction=False`` gives main effects only; ``time=None`` gives ``arm + covariates`` (one row per unit).
    """
    for col in (arm, *([time] if time else []), *covariates):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    arms = sorted(data[arm].astype(str).unique())
    reference = arms[0] if reference is None else str(reference)
    if reference not in arms:
        raise ValueError(f"reference {reference!r} is not an arm in the data")
    a_cols = {f"{arm}[{a}]": (data[arm].astype(str) == a).to_numpy(float)
              for a in arms if a != reference}
    if time is None:
        t_cols = {}
    elif time_categorical:
        levels = sorted(data[time].unique())
        t_cols = {f"{time}[{t}]": (data[time] == t).to_numpy(float) for t in levels[1:]}
    else:
        t_cols = {time: data[time].to_numpy(float)}
    cols = {"Intercept": np.ones(len(data)), **a_cols, **t_cols}
    cols.update({c: data[c].to_numpy(float) for c in covariates})
    if interaction:
        cols.update({f"{a}:{t}": a_cols[a] * t_cols[t] for a in a_cols for t in t_cols})
    return np.column_stack(list(cols.values())), list(cols)


def fit_repeated_measures(data: pd.DataFrame, *, outcome: str = "outcome", arm: str = "arm",
                          time: str = "time", participant: str = "participant_id",
                          covariates=(), time_categorical: bool = False,
                          reference: str | None = None, reml: bool = True,
                          level: float = 0.95, runs=DEFAULT_RUNS) -> MixedModelResult:
    """Repeated-measures LMM ``outcome ~ arm * time + covariates + (1 | participant)``.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table, one row per participant and assessment, columns named by the options;
        rows with a missing outcome or covariate are dropped (likelihood-based, MAR).
    outcome, arm, time, participant : str
        Column names.
    covariates : sequence of str
        Numeric covariate columns (e.g. ``baseline``).
    time_categorical : bool
        Time as a factor (one effect per assessment) instead of a linear trend.
    reference : str, optional
        Control arm; defaults to the first arm in sorted order.
    reml, level, runs
        As :func:`fit_random_intercept`.

    Returns
    -------
    MixedModelResult
        Checked fit; ``ConvergenceError`` is raised rather than returning a doubtful fit.
    """
    for col in (outcome, arm, time, participant, *covariates):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    data = data.dropna(subset=[outcome, arm, time, participant, *covariates])
    X, names = arm_time_design(data, arm=arm, time=time, covariates=covariates,
                               time_categorical=time_categorical, reference=reference)
    return fit_random_intercept(data[outcome].to_numpy(float), X, data[participant], names,
                                reml=reml, level=level, runs=runs)
