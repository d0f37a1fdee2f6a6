"""The results LMM's cached profile gives bit-for-bit the numbers of the analysis one."""

import numpy as np
import pytest

from hwtrial.analysis.mixed import RandomInterceptProfile
from hwtrial.services.results_lmm import CachedProfile


@pytest.mark.parametrize("reml", [True, False])
def test_cached_profile_equals_reference(reml):
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 300, size=1200)
    X = np.column_stack([np.ones(1200), rng.integers(0, 2, 1200), rng.normal(size=1200)])
    y = X @ [1.0, 0.5, -0.3] + rng.normal(size=300)[groups] + rng.normal(size=1200)
    ref = RandomInterceptProfile.from_data(y, X, groups, reml)
    cached = CachedProfile.from_data(y, X, groups, reml)
    for gamma in (0.0, 1e-6, 0.3, 1.0, 40.0):
        for want, got in zip(ref.gls(gamma), cached.gls(gamma), strict=True):
            np.testing.assert_array_equal(got, want)
    assert cached.best() == ref.best()
