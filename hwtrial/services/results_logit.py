"""Instance-level adherence logit fitted on per-participant counts.

:func:`hwtrial.analysis.adherence.adherence_model` takes one row per homework instance.
When every regressor is constant within a participant (arm, strata, factor codes), the
binomial likelihood of the instance rows equals that of one row per participant with
``successes / trials``, and each participant's score is the sum of its instances'
scores, so coefficients and the participant- (or coarser-) clustered covariance are the
same numbers. Fitting on participants keeps the results call flat in the number of
instances. The small-sample factor ``(N-1)/(N-K)`` uses ``N`` = instances, as the
instance-level function does; ``tests/results`` checks the equality against it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm

from hwtrial.analysis.adherence import AdherenceModel, odds_ratio_view, wald_estimates
from hwtrial.analysis.factorial import FactorialResult


def _intersection_codes(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Integer code of each row's combination of cluster labels."""
    stacked = np.column_stack([pd.factorize(c)[0] for c in columns])
    return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()


def cluster_meat(scores: np.ndarray, clusters: Sequence[np.ndarray]) -> np.ndarray:
    """Cameron-Gelbach-Miller multiway meat, each term scaled by ``G/(G-1)``."""
    k = scores.shape[1]
    meat = np.zeros((k, k))
    for r in range(1, len(clusters) + 1):
        for combo in itertools.combinations(range(len(clusters)), r):
            codes = _intersection_codes([clusters[i] for i in combo])
            g = int(codes.max()) + 1
            if g < 2:
                raise ValueError("a cluster variable has fewer than 2 clusters")
            sums = np.zeros((g, k))
            np.add.at(sums, codes, scores)
            meat += (-1) ** (r + 1) * g / (g - 1) * (sums.T @ sums)
    return meat


def grouped_logit(successes, trials, X: pd.DataFrame,
                  clusters: Sequence[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Binomial logit on ``successes/trials`` rows; clustered or model-based covariance.

    Parameters
    ----------
    successes, trials : array_like
        Completed and closed instances per participant (``trials > 0``).
    X : DataFrame
        Participant-level design (intercept first).
    clusters : sequence of arrays, optional
        One label array per cluster variable (participant ids, therapist keys, ...).

    Returns
    -------
    (beta, cov) : tuple of ndarray
    """
    s = np.asarray(successes, dtype=float)
    t = np.asarray(trials, dtype=float)
    Xa = X.to_numpy(dtype=float)
    # refused before statsmodels warns: its pinv fit of these would still report numbers
    if len(t) <= Xa.shape[1] or np.linalg.matrix_rank(Xa) < Xa.shape[1]:
        raise ValueError(f"{len(t)} participants with closed homework for {Xa.shape[1]} model "
                         "terms: too few, or an arm or covariate level has no data")
    if s.sum() == 0 or s.sum() == t.sum():
        raise ValueError("every closed homework instance has the same outcome "
                         "(all or none completed); the logit has no finite estimate")
    fit = sm.GLM(np.column_stack([s, t - s]), Xa, family=sm.families.Binomial()).fit(tol=1e-12)
    beta = np.asarray(fit.params)
    bread = np.asarray(fit.normalized_cov_params)
    if not clusters:
        return beta, bread
    scores = Xa * (s - t * np.asarray(fit.fittedvalues))[:, None]
    n, k = t.sum(), Xa.shape[1]
    return beta, (n - 1) / (n - k) * bread @ cluster_meat(scores, clusters) @ bread


def adherence_logit(data: pd.DataFrame, X: pd.DataFrame, cluster: Sequence[str],
                    arm: str, reference: str, level: float) -> AdherenceModel:
    """:class:`AdherenceModel` of ``completed ~ X`` from per-participant counts."""
    clusters = [data[c].to_numpy() for c in cluster]
    beta, cov = grouped_logit(data["n_completed"], data["n_assigned"], X, clusters)
    cov_type = "cluster_hc1" if cluster else "model"
    n = int(data["n_assigned"].sum())
    coefs = wald_estimates(X.columns, beta, cov, level, n, "logit_" + cov_type)
    ors = tuple(odds_ratio_view(c) for c in coefs if c.name.startswith(f"{arm}["))
    return AdherenceModel(ors, tuple(coefs), reference, n,
                          {c: int(data[c].nunique()) for c in cluster}, cov_type)


def factorial_logit(data: pd.DataFrame, X: pd.DataFrame, effect_names: Sequence[str],
                    cluster: Sequence[str], level: float) -> FactorialResult:
    """:class:`FactorialResult` of effect-coded completion from per-participant counts."""
    clusters = [data[c].to_numpy() for c in cluster]
    beta, cov = grouped_logit(data["n_completed"], data["n_assigned"], X, clusters)
    cov_type = "cluster_hc1" if cluster else "model"
    coefs = wald_estimates(X.columns, beta, cov, level, int(data["n_assigned"].sum()),
                           "logit_" + cov_type)
    effects = tuple(c for c in coefs if c.name in effect_names)
    return FactorialResult(effects, tuple(coefs), int(data["n_assigned"].sum()), "logit",
                           cov_type)
