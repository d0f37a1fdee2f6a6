"""The closed-form Poisson dispersion gate equals statsmodels' iterated Poisson GLM."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hwtrial.services.results_sections import poisson_dispersion


def _statsmodels(y, t, arm):
    X = pd.get_dummies(pd.Series(arm), drop_first=True, dtype=float).assign(Intercept=1.0)
    fit = sm.GLM(y, X.to_numpy(), family=sm.families.Poisson(), offset=np.log(t)).fit()
    return fit.pearson_chi2 / fit.df_resid


@pytest.mark.parametrize("theta", [0.8, 5.0, None])  # overdispersed .. Poisson
def test_dispersion_matches_statsmodels(theta):
    rng = np.random.default_rng(11)
    n = 3000
    arm = rng.choice(["control", "remind", "review"], size=n)
    t = rng.integers(1, 12, size=n).astype(float)
    mu = t * np.select([arm == "control", arm == "remind"], [2.0, 2.6], 3.1)
    lam = mu if theta is None else rng.gamma(theta, mu / theta)
    y = rng.poisson(lam).astype(float)
    got = poisson_dispersion(y, t, arm)
    assert got == pytest.approx(_statsmodels(y, t, arm), rel=1e-9)
    if theta is not None:
        assert got > 1.5


def test_group_without_events_is_refused():
    with pytest.raises(ValueError, match="no events"):
        poisson_dispersion([0, 0, 3, 1], [1, 2, 1, 1], ["a", "a", "b", "b"])
