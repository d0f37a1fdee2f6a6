"""2^k factorial analyses with effect coding (−1/+1).

Each factor column holds two levels; the level that sorts last as a string (``1`` over
``0``, ``True`` over ``False``, ``on`` over ``off``) is coded +1 unless ``high`` says
otherwise. With effect coding a main-effect coefficient ``β`` is half the difference
between the factor's levels averaged over the other factors (so the level difference is
``2β``, and for adherence the level odds ratio is ``exp(2β)``); interaction columns are
products of main-effect codes. This is R's ``contr.sum`` with the high level last.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from hwtrial.analysis.adherence import design_matrix, fit_logistic, wald_estimates
from hwtrial.analysis.outcomes import fit_ols, t_estimates
from hwtrial.analysis.results import Estimate, check_level


def effect_codes(
    df: pd.DataFrame, factors: Sequence[str], *, high: Mapping[str, object] | None = None,
    max_order: int | None = None,
) -> pd.DataFrame:
    """±1 columns for main effects and interactions up to ``max_order`` (default: all).

    Interaction columns are named ``"A:B"`` (factor order as given).
    """
    high = high or {}
    codes = {}
    for f in factors:
        levels = sorted(df[f].dropna().astype(str).unique())
        if len(levels) != 2:
            raise ValueError(f"factor {f!r} must have exactly two levels, got {levels}")
        hi = str(high.get(f, levels[-1]))
        if hi not in levels:
            raise ValueError(f"high level {hi!r} not found in factor {f!r}")
        codes[f] = (df[f].astype(str) == hi).astype(float) * 2.0 - 1.0
    order = len(factors) if max_order is None else int(max_order)
    if not 1 <= order <= len(factors):
        raise ValueError(f"max_order must be between 1 and {len(factors)}, got {max_order!r}")
    cols = {}
    for r in range(1, order + 1):
        for combo in itertools.combinations(factors, r):
            col = codes[combo[0]].copy()
            for f in combo[1:]:
                col = col * codes[f]
            cols[":".join(combo)] = col
    return pd.DataFrame(cols, index=df.index)


@dataclass(frozen=True)
class FactorialResult:
    """Effect-coded factorial model.

    Attributes
    ----------
    effects : tuple of Estimate
        One per main effect / interaction column (``name`` as ``"A"`` or ``"A:B"``): the
        coefficient ``β`` on the ±1 scale (log-odds for adherence), its SE, CI and p.
    coefficients : tuple of Estimate
        All coefficients including intercept and adjustment terms.
    n : int
        Rows used.
    model : str
        ``"logit"`` or ``"ols"``.
    cov_type : str
        Covariance used.
    """

    effects: tuple[Estimate, ...]
    coefficients: tuple[Estimate, ...]
    n: int
    model: str
    cov_type: str


def _design(data, factors, high, max_order, strata, numeric=()):
    base = design_matrix(data, [*numeric, *strata], numeric=numeric)
    effects = effect_codes(data, factors, high=high, max_order=max_order)
    X = pd.concat([base.iloc[:, :1], effects, base.iloc[:, 1:]], axis=1)
    return X, list(effects.columns)


def factorial_adherence(
    instances: pd.DataFrame,
    factors: Sequence[str],
    *,
    completed: str = "completed",
    strata: Sequence[str] = (),
    cluster: Sequence[str] | None = ("participant_id",),
    high: Mapping[str, object] | None = None,
    max_order: int | None = None,
    level: float = 0.95,
) -> FactorialResult:
    """Binomial GLM of instance-level completion on effect-coded factors (+ strata).

    SEs are clustered as in :func:`hwtrial.analysis.adherence.adherence_model`
    (``cluster=None`` gives model-based SEs, = R ``glm(binomial)``).
    """
    level = check_level(level)
    cluster = list(cluster) if cluster else []
    cols = [completed, *factors, *strata, *cluster]
    _require(instances, cols)
    data = instances.dropna(subset=cols)
    X, names = _design(data, factors, high, max_order, strata)
    beta, cov = fit_logistic(data[completed].to_numpy(dtype=float), X,
                             data[cluster] if cluster else None)
    cov_type = "cluster_hc1" if cluster else "model"
    coefs = wald_estimates(X.columns, beta, cov, level, len(data), "logit_" + cov_type)
    effects = tuple(c for c in coefs if c.name in names)
    return FactorialResult(effects, tuple(coefs), len(data), "logit", cov_type)


def factorial_outcome(
    participants: pd.DataFrame,
    factors: Sequence[str],
    *,
    outcome: str = "followup",
    baseline: str | None = "baseline",
    strata: Sequence[str] = (),
    high: Mapping[str, object] | None = None,
    max_order: int | None = None,
    cov_type: str = "classical",
    level: float = 0.95,
) -> FactorialResult:
    """ANCOVA of the outcome on effect-coded factors, baseline and strata (= R ``lm``)."""
    level = check_level(level)
    numeric = [baseline] if baseline else []
    cols = [outcome, *factors, *numeric, *strata]
    _require(participants, cols)
    data = participants.dropna(subset=cols)
    X, names = _design(data, factors, high, max_order, strata, numeric)
    beta, cov, df = fit_ols(data[outcome].to_numpy(dtype=float), X, cov_type)
    coefs = t_estimates(X.columns, beta, cov, df, level, len(data), f"ols_{cov_type}")
    effects = tuple(c for c in coefs if c.name in names)
    return FactorialResult(effects, tuple(coefs), len(data), "ols", cov_type)


def _require(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in table: {missing}")
