"""The profile's cached ratio-free sums give bit-for-bit the numbers of the direct formula."""

import numpy as np
import pytest

from hwtrial.analysis.mixed import RandomInterceptProfile


def direct_gls(profile, gamma):
    """The GLS fit at ``gamma`` with every sum formed afresh (the formula before caching)."""
    c = gamma / (1.0 + profile.sizes * gamma)
    sx = np.zeros((len(profile.sizes), profile.X.shape[1]))
    np.add.at(sx, profile.codes, profile.X)
    sy = np.bincount(profile.codes, profile.y, minlength=len(profile.sizes))
    xtx = profile.X.T @ profile.X - (sx * c[:, None]).T @ sx
    xty = profile.X.T @ profile.y - (sx * c[:, None]).T @ sy
    yty = profile.y @ profile.y - np.sum(c * sy**2)
    beta = np.linalg.solve(xtx, xty)
    n, p = profile.X.shape
    dof = n - p if profile.reml else n
    sigma2 = (yty - beta @ xty) / dof
    crit = np.sum(np.log1p(profile.sizes * gamma)) + dof * (1 + np.log(2 * np.pi * sigma2))
    if profile.reml:
        crit += np.linalg.slogdet(xtx)[1]
    return beta, np.linalg.inv(xtx), sigma2, crit


@pytest.mark.parametrize("reml", [True, False])
def test_cached_profile_equals_direct_formula(reml):
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 300, size=1200)
    X = np.column_stack([np.ones(1200), rng.integers(0, 2, 1200), rng.normal(size=1200)])
    y = X @ [1.0, 0.5, -0.3] + rng.normal(size=300)[groups] + rng.normal(size=1200)
    profile = RandomInterceptProfile.from_data(y, X, groups, reml)
    for gamma in (0.0, 1e-6, 0.3, 1.0, 40.0):
        for want, got in zip(direct_gls(profile, gamma), profile.gls(gamma), strict=True):
            np.testing.assert_array_equal(got, want)
