"""Homework adherence: pooled and participant-level completion, and a clustered logistic model.

Input is one row per assigned homework instance with columns ``participant_id``, ``arm``,
``completed`` (0/1) and optionally ``on_time`` (0/1, 0 when not completed),
``therapist_id`` and strata columns.

The model's cluster-robust covariance is computed here rather than through statsmodels'
``cov_type="cluster"`` so that one- and multi-way clustering share one code path. It
uses the Stata-like small-sample factor that statsmodels also applies by default,
``G/(G-1) * (N-1)/(N-K)``, which equals R ``sandwich::vcovCL(fit, cluster = ...,
type = "HC1", cadjust = TRUE)``; for several cluster variables it is the
Cameron–Gelbach–Miller sum with each term's own ``G/(G-1)`` (as ``vcovCL`` does).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from hwtrial.analysis.proportions import proportion
from hwtrial.analysis.results import Estimate, check_level
from hwtrial.analysis.twosample import positive_p


@dataclass(frozen=True)
class ArmCompletion:
    """Pooled (instance-level) adherence in one arm.

    Attributes
    ----------
    arm : str
        Arm label.
    n_instances : int
        Assigned homework instances.
    completion : Estimate
        Completed / assigned, Wilson CI (ignores clustering: descriptive only).
    on_time : Estimate or None
        Completed on time / assigned, Wilson CI; ``None`` without an on-time column.
    """

    arm: str
    n_instances: int
    completion: Estimate
    on_time: Estimate | None


def _require(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in table: {missing}")


def completion_by_arm(
    instances: pd.DataFrame,
    *,
    arm: str = "arm",
    completed: str = "completed",
    on_time: str | None = "on_time",
    level: float = 0.95,
) -> list[ArmCompletion]:
    """Pooled completion and on-time proportions per arm with Wilson CIs.

    Both denominators are all assigned instances (an instance not completed is not on
    time). ``on_time`` is skipped (``None`` in the result) when the column is absent.
    The Wilson intervals treat instances as independent, so they are descriptive; use
    :func:`adherence_model` for inference that respects clustering.
    """
    level = check_level(level)
    if on_time is not None and on_time not in instances.columns:
        on_time = None
    _require(instances, [arm, completed])
    out = []
    for label, g in instances.groupby(arm, sort=True):
        n = len(g)
        done = proportion(int(g[completed].sum()), n, level, "completion")
        timely = proportion(int(g[on_time].sum()), n, level, "on_time") if on_time else None
        out.append(ArmCompletion(str(label), n, done, timely))
    return out


@dataclass(frozen=True)
class ParticipantAdherence:
    """Distribution of participants' own completion rates in one arm.

    Attributes
    ----------
    arm : str
        Arm label.
    n_participants : int
        Participants with at least one assigned instance.
    mean, sd, median, q1, q3 : float
        Of the per-participant proportion completed (SD with ``n - 1``).
    """

    arm: str
    n_participants: int
    mean: float
    sd: float
    median: float
    q1: float
    q3: float


def participant_adherence(
    instances: pd.DataFrame,
    *,
    arm: str = "arm",
    completed: str = "completed",
    participant: str = "participant_id",
) -> list[ParticipantAdherence]:
    """Per-arm summary of participant-level completion rates."""
    _require(instances, [arm, completed, participant])
    rates = instances.groupby([arm, participant], sort=True)[completed].mean()
    out = []
    for label, r in rates.groupby(level=0, sort=True):
        x = r.to_numpy(dtype=float)
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
        out.append(ParticipantAdherence(str(label), x.size, float(x.mean()), sd,
                                        float(med), float(q1), float(q3)))
    return out


def design_matrix(
    df: pd.DataFrame, terms: Sequence[str], *, reference: dict[str, object] | None = None,
    numeric: Sequence[str] = (),
) -> pd.DataFrame:
    """Intercept plus treatment-coded dummies (R's default contrasts) and numeric columns.

    Levels are sorted as strings; the first (or ``reference[term]``) is the baseline,
    so column names and coefficients line up with R ``factor()`` codes.
    """
    if len(df) == 0:
        raise ValueError("no observations to fit the model to")
    reference = reference or {}
    parts = [pd.Series(1.0, index=df.index, name="Intercept")]
    for term in terms:
        if term in numeric:
            parts.append(df[term].astype(float).rename(term))
            continue
        codes = df[term].astype(str)
        levels = sorted(codes.unique())
        ref = str(reference.get(term, levels[0]))
        if ref not in levels:
            raise ValueError(f"reference level {ref!r} not found in column {term!r}")
        parts.extend((codes == lv).astype(float).rename(f"{term}[{lv}]")
                     for lv in levels if lv != ref)
    return pd.concat(parts, axis=1)


def clustered_vcov(
    scores: np.ndarray, bread: np.ndarray, clusters: pd.DataFrame
) -> np.ndarray:
    """Cluster-robust covariance ``B M B * (N-1)/(N-K)`` with one- or multi-way ``M``.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Per-observation score contributions (``x_i * residual_i``).
    bread : ndarray, shape (K, K)
        Inverse of the (expected) Hessian, i.e. the model-based covariance.
    clusters : DataFrame, shape (N, C)
        One column per cluster variable; intersections are added with alternating
        signs (Cameron, Gelbach & Miller 2011), each term scaled by ``G/(G-1)``.
    """
    n, k = scores.shape
    meat = np.zeros((k, k))
    cols = list(clusters.columns)
    for r in range(1, len(cols) + 1):
        for combo in itertools.combinations(cols, r):
            ids = clusters[list(combo)].astype(str).agg("\x1f".join, axis=1)
            codes, uniq = pd.factorize(ids)
            g = len(uniq)
            sums = np.zeros((g, k))
            np.add.at(sums, codes, scores)
            meat += (-1) ** (r + 1) * g / (g - 1) * (sums.T @ sums)
    return (n - 1) / (n - k) * bread @ meat @ bread


def wald_estimates(names, beta, cov, level: float, n: int, method: str) -> list[Estimate]:
    """Normal-theory Estimates for each coefficient (p from ``norm.sf``)."""
    z = stats.norm.isf((1 - level) / 2)
    variance = np.diag(cov)
    bad = [str(nm) for nm, v in zip(names, variance, strict=True) if not v > 0]
    if bad:  # a degenerate fit (one cluster per arm, a multiway meat that is not positive)
        raise ValueError(f"zero, negative or undefined variance for {', '.join(bad)}: "
                         "too few participants or clusters for this covariance")
    se = np.sqrt(variance)
    p = positive_p(2 * stats.norm.sf(np.abs(beta / se)))
    return [Estimate(str(nm), float(b), float(s), float(b - z * s), float(b + z * s),
                     float(pv), n, method, level)
            for nm, b, s, pv in zip(names, beta, se, p, strict=True)]


def odds_ratio_view(coef: Estimate) -> Estimate:
    """Exponentiate a log-odds coefficient; ``se`` stays on the log scale."""
    return Estimate(coef.name, float(np.exp(coef.estimate)), coef.se,
                    float(np.exp(coef.ci_low)), float(np.exp(coef.ci_high)),
                    coef.p_value, coef.n, coef.method, coef.level)


def fit_logistic(y: np.ndarray, X: pd.DataFrame, clusters: pd.DataFrame | None):
    """Binomial-logit fit; returns (beta, cov) with clustered or model-based cov."""
    fit = sm.GLM(y, X.to_numpy(), family=sm.families.Binomial()).fit(tol=1e-12)
    beta = np.asarray(fit.params)
    if clusters is None:
        return beta, np.asarray(fit.cov_params())
    mu = np.asarray(fit.fittedvalues)
    scores = X.to_numpy() * (y - mu)[:, None]
    return beta, clustered_vcov(scores, np.asarray(fit.normalized_cov_params), clusters)


@dataclass(frozen=True)
class AdherenceModel:
    """Instance-level logistic model ``completed ~ arm + strata``.

    Attributes
    ----------
    odds_ratios : tuple of Estimate
        One per non-reference arm (``name="arm[B]"``): odds ratio vs ``reference_arm``,
        CI ``exp(beta ± z se)``, ``se`` on the log-odds scale, Wald p-value.
    coefficients : tuple of Estimate
        Every coefficient on the log-odds scale (intercept, arms, strata dummies).
    reference_arm : str
        Comparator arm.
    n_instances : int
        Rows used.
    n_clusters : dict
        Distinct clusters per cluster variable.
    cov_type : str
        ``"cluster_hc1"`` or ``"model"``.
    """

    odds_ratios: tuple[Estimate, ...]
    coefficients: tuple[Estimate, ...]
    reference_arm: str
    n_instances: int
    n_clusters: dict
    cov_type: str


def adherence_model(
    instances: pd.DataFrame,
    *,
    arm: str = "arm",
    completed: str = "completed",
    strata: Sequence[str] = (),
    cluster: Sequence[str] | None = ("participant_id",),
    reference: object | None = None,
    level: float = 0.95,
) -> AdherenceModel:
    """Logistic regression of completion on arm and strata, SEs clustered by participant.

    Parameters
    ----------
    instances : DataFrame
        One row per assigned homework instance.
    arm, completed : str
        Arm and 0/1 completion columns.
    strata : sequence of str
        Stratification columns, entered as categorical main effects.
    cluster : sequence of str or None
        Cluster columns, e.g. ``("participant_id",)`` or ``("participant_id",
        "therapist_id")`` for two-way clustering; ``None`` gives model-based SEs.
    reference : optional
        Comparator arm; default the first arm in sorted order.
    level : float
        Confidence level.
    """
    level = check_level(level)
    cluster = list(cluster) if cluster else []
    _require(instances, [arm, completed, *strata, *cluster])
    data = instances.dropna(subset=[arm, completed, *strata, *cluster])
    X = design_matrix(data, [arm, *strata],
                      reference={arm: reference} if reference is not None else None)
    clusters = data[cluster] if cluster else None
    y = data[completed].to_numpy(dtype=float)
    beta, cov = fit_logistic(y, X, clusters)
    cov_type = "cluster_hc1" if cluster else "model"
    coefs = wald_estimates(X.columns, beta, cov, level, len(data), "logit_" + cov_type)
    ors = tuple(odds_ratio_view(c) for c in coefs if c.name.startswith(f"{arm}["))
    ref = str(reference) if reference is not None else sorted(data[arm].astype(str).unique())[0]
    return AdherenceModel(ors, tuple(coefs), ref, len(data),
                          {c: int(data[c].nunique()) for c in cluster}, cov_type)
