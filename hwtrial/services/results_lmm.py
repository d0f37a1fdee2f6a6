"""Repeated-measures random-intercept LMM fitted on the exact profiled likelihood.

:func:`hwtrial.analysis.mixed.fit_repeated_measures` fits statsmodels ``MixedLM`` from
three starts and checks each against the closed-form profiled criterion
(:class:`~hwtrial.analysis.mixed.RandomInterceptProfile`). statsmodels loops over groups
in Python, so at 100,000 participants one fit takes minutes. For one random intercept the
profiled criterion is exact and one-dimensional, so this module minimises it directly
(the same bounded search ``mixed`` uses as its reference optimum), then reports the GLS
fixed effects with lme4's SEs ``sqrt(sigma^2 diag((X'V^-1X)^-1))`` and Wald z, exactly as
``fit_random_intercept`` does. ``tests/results`` checks the two agree.

The bounded search evaluates the criterion about 30 times; the profile forms the
ratio-free group sums once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwtrial.analysis.mixed import (
    BOUNDARY_RATIO,
    ConvergenceError,
    MixedModelResult,
    RandomInterceptProfile,
    _fixed_estimates,
    _gradient,
    arm_time_design,
)
from hwtrial.analysis.results import check_level


def fit_profiled(data: pd.DataFrame, *, outcome: str = "outcome", arm: str = "arm",
                 time: str = "time", participant: str = "participant_id", covariates=(),
                 reference: str | None = None, level: float = 0.95) -> MixedModelResult:
    """REML fit of ``outcome ~ arm * factor(time) + covariates + (1 | participant)``.

    Parameters are those of :func:`hwtrial.analysis.mixed.fit_repeated_measures` (time is
    categorical). Raises :class:`ConvergenceError` when the optimum is not stationary.
    """
    level = check_level(level)
    data = data.dropna(subset=[outcome, arm, time, participant, *covariates])
    X, names = arm_time_design(data, arm=arm, time=time, covariates=covariates,
                               time_categorical=True, reference=reference)
    if len(data) <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("too few rows or a rank-deficient design for the repeated-measures model")
    profile = RandomInterceptProfile.from_data(data[outcome].to_numpy(float), X,
                                               data[participant], reml=True)
    gamma, crit = profile.best()
    gradient = _gradient(profile, gamma)
    if (gradient < -1e-4) if gamma < BOUNDARY_RATIO else abs(gradient) > 1e-3:
        raise ConvergenceError(f"profiled criterion not stationary at ratio {gamma:.3g}")
    beta, xtxi, sigma2, _ = profile.gls(gamma)
    se = np.sqrt(sigma2 * np.diag(xtxi))
    n_groups = len(profile.sizes)
    fixed = _fixed_estimates(names, beta, se, n_groups, level, "lmm_reml_wald_z")
    return MixedModelResult(
        fixed=fixed, group_variance=gamma * sigma2, residual_variance=float(sigma2),
        criterion=float(crit), reml=True, on_boundary=gamma < BOUNDARY_RATIO,
        optimizer="profile_bounded", n_obs=len(data), n_groups=n_groups,
        diagnostics={"gradient": float(gradient)})
