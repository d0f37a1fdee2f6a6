"""Continuous outcomes: ANCOVA, Hedges' g, analysis populations and differential dropout.

Input is one row per participant with ``arm``, ``baseline``, ``followup`` (NaN when
missing) and strata columns. The primary analysis is ANCOVA ``followup ~ arm + baseline +
strata`` (= R ``lm``), on complete cases of the chosen population.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from hwtrial.analysis.adherence import design_matrix
from hwtrial.analysis.results import Estimate, check_level
from hwtrial.analysis.twosample import positive_p

POPULATIONS = ("itt", "per_protocol")
COV_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3")


def population_mask(
    participants: pd.DataFrame, population: str = "itt", *, per_protocol: str = "per_protocol"
) -> pd.Series:
    """Boolean row mask of an analysis population.

    ``"itt"`` keeps every randomised participant in the arm they were allocated to;
    ``"per_protocol"`` keeps rows whose ``per_protocol`` column is true. Missing
    outcomes are dropped later, by each analysis, so the mask only encodes the definition.
    """
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
    if population == "itt":
        return pd.Series(True, index=participants.index)
    if per_protocol not in participants.columns:
        raise ValueError(f"per_protocol column {per_protocol!r} not in table")
    return participants[per_protocol].fillna(False).astype(bool)


def select_population(participants: pd.DataFrame, population: str = "itt", **kwargs):
    """Rows of ``participants`` in ``population`` (see :func:`population_mask`)."""
    return participants.loc[population_mask(participants, population, **kwargs)]


@dataclass(frozen=True)
class AncovaResult:
    """ANCOVA of the outcome on arm, baseline and strata.

    Attributes
    ----------
    effects : tuple of Estimate
        Adjusted mean difference of each non-reference arm vs ``reference_arm``
        (``name="arm[B]"``), t-based CI and p with ``df_resid`` degrees of freedom.
    coefficients : tuple of Estimate
        All coefficients (intercept, arms, baseline, strata dummies).
    reference_arm : str
        Comparator arm.
    n : int
        Complete cases used.
    df_resid : int
        Residual degrees of freedom ``n - k``.
    cov_type : str
        ``"classical"`` or an HC type (= R ``sandwich::vcovHC(fit, type=...)`` with
        ``lmtest::coeftest`` t inference).
    """

    effects: tuple[Estimate, ...]
    coefficients: tuple[Estimate, ...]
    reference_arm: str
    n: int
    df_resid: int
    cov_type: str


def t_estimates(names, beta, cov, df, level, n, method) -> list[Estimate]:
    """t-based Estimates for each coefficient (p from ``t.sf``, never exactly 0)."""
    q = stats.t.isf((1 - level) / 2, df)
    se = np.sqrt(np.diag(cov))
    p = positive_p(2 * stats.t.sf(np.abs(beta / se), df))
    return [Estimate(str(nm), float(b), float(s), float(b - q * s), float(b + q * s),
                     float(pv), n, method, level, {"df": float(df)})
            for nm, b, s, pv in zip(names, beta, se, p, strict=True)]


def fit_ols(y: np.ndarray, X: pd.DataFrame, cov_type: str):
    """OLS coefficients, covariance of the requested type and residual df."""
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
    # refused here, not left to statsmodels' warning: a pinv fit would report numbers
    if len(y) <= X.shape[1]:
        raise ValueError(f"{len(y)} complete cases for {X.shape[1]} model terms; need more cases than terms")
    if np.linalg.matrix_rank(X.to_numpy(dtype=float)) < X.shape[1]:
        raise ValueError("rank-deficient design: an arm or covariate level has no complete cases "
                         "or is confounded with another")
    fit = sm.OLS(y, X.to_numpy()).fit()
    cov = fit.cov_params() if cov_type == "classical" else getattr(fit, f"cov_{cov_type}")
    return np.asarray(fit.params), np.asarray(cov), int(fit.df_resid)


def ancova(
    participants: pd.DataFrame,
    *,
    outcome: str = "followup",
    baseline: str | None = "baseline",
    arm: str = "arm",
    strata: Sequence[str] = (),
    reference: object | None = None,
    cov_type: str = "classical",
    level: float = 0.95,
) -> AncovaResult:
    """ANCOVA ``outcome ~ arm + baseline + strata`` on complete cases.

    Parameters
    ----------
    participants : DataFrame
        One row per participant (already restricted to the analysis population).
    outcome, baseline, arm : str
        Column names; ``baseline=None`` fits ``outcome ~ arm + strata``.
    strata : sequence of str
        Categorical adjustment columns (treatment-coded as in R).
    reference : optional
        Comparator arm; default the first arm in sorted order.
    cov_type : {"classical", "HC0", "HC1", "HC2", "HC3"}
        Covariance of the coefficients.
    level : float
        Confidence level.
    """
    level = check_level(level)
    cols = [outcome, arm, *([baseline] if baseline else []), *strata]
    missing = [c for c in cols if c not in participants.columns]
    if missing:
        raise ValueError(f"columns not in table: {missing}")
    data = participants.dropna(subset=cols)
    terms = [arm, *([baseline] if baseline else []), *strata]
    X = design_matrix(data, terms, reference={arm: reference} if reference is not None else None,
                      numeric=[baseline] if baseline else [])
    beta, cov, df = fit_ols(data[outcome].to_numpy(dtype=float), X, cov_type)
    coefs = t_estimates(X.columns, beta, cov, df, level, len(data), f"ancova_{cov_type}")
    effects = tuple(c for c in coefs if c.name.startswith(f"{arm}["))
    ref = str(reference) if reference is not None else sorted(data[arm].astype(str).unique())[0]
    return AncovaResult(effects, tuple(coefs), ref, len(data), df, cov_type)


def hedges_g_from_stats(n1, mean1, sd1, n2, mean2, sd2, *, level: float = 0.95) -> Estimate:
    """Hedges' g of group 1 vs group 2 with a normal-approximation CI.

    Formulas of Borenstein et al. (2009, *Introduction to Meta-Analysis*, ch. 4):
    ``d = (mean1 - mean2) / s_pooled``, ``V_d = (n1+n2)/(n1 n2) + d^2 / (2 (n1+n2))``,
    ``J = 1 - 3 / (4 df - 1)`` with ``df = n1 + n2 - 2``, ``g = J d``, ``V_g = J^2 V_d``,
    CI ``g ± z sqrt(V_g)``. The p-value is that of the pooled-variance t test, which is
    the exact test of ``g = 0``.
    """
    level = check_level(level)
    if n1 < 2 or n2 < 2:
        raise ValueError("n1 and n2 must each be at least 2")
    df = n1 + n2 - 2
    s_pooled = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    d = (mean1 - mean2) / s_pooled
    var_d = (n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2))
    j = 1 - 3 / (4 * df - 1)
    g, se = j * d, j * math.sqrt(var_d)
    z = stats.norm.isf((1 - level) / 2)
    t_stat = d / math.sqrt(1 / n1 + 1 / n2)
    p = positive_p(2 * stats.t.sf(abs(t_stat), df))
    return Estimate("hedges_g", g, se, g - z * se, g + z * se, p, int(n1 + n2),
                    "hedges_g_borenstein", level, {"d": d, "j": j})


def hedges_g(y1, y2, *, level: float = 0.95) -> Estimate:
    """Hedges' g from two samples (NaNs dropped); see :func:`hedges_g_from_stats`."""
    a = np.asarray(y1, dtype=float)
    b = np.asarray(y2, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:  # checked before the means: an empty mean only warns
        raise ValueError(f"each group needs at least 2 non-missing values, got {a.size} and {b.size}")
    return hedges_g_from_stats(a.size, a.mean(), a.std(ddof=1), b.size, b.mean(),
                               b.std(ddof=1), level=level)


@dataclass(frozen=True)
class ArmMissing:
    """Missing outcomes in one arm: ``n`` rows, ``n_missing`` of them missing."""

    arm: str
    n: int
    n_missing: int
    percent_missing: float


@dataclass(frozen=True)
class MissingSummary:
    """Missing outcome data by arm and a test of differential dropout.

    Attributes
    ----------
    arms : tuple of ArmMissing
        One per arm, sorted.
    chi2, df, p_value : float
        Pearson chi-square of the arm x missing table without continuity correction
        (= R ``chisq.test(table, correct = FALSE)``); NaN when nobody (or everybody)
        is missing, because the test is then undefined.
    """

    arms: tuple[ArmMissing, ...]
    chi2: float
    df: int
    p_value: float


def missing_by_arm(
    participants: pd.DataFrame, *, outcome: str = "followup", arm: str = "arm"
) -> MissingSummary:
    """Summarise missing ``outcome`` values per arm and test for differential dropout."""
    for col in (outcome, arm):
        if col not in participants.columns:
            raise ValueError(f"column {col!r} not in table")
    miss = participants[outcome].isna()
    table = pd.crosstab(participants[arm].astype(str), miss).reindex(
        columns=[False, True], fill_value=0)
    arms = tuple(ArmMissing(str(a), int(r.sum()), int(r[True]), 100.0 * r[True] / r.sum())
                 for a, r in table.iterrows())
    df = table.shape[0] - 1
    if (table.sum(axis=0) == 0).any():
        return MissingSummary(arms, math.nan, df, math.nan)
    chi2, p, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    return MissingSummary(arms, float(chi2), df, positive_p(p))
