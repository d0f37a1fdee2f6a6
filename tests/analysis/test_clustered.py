"""hwtrial.analysis.clustered against lme4 and sandwich::vcovCL (tests/reference/clustered.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.clustered import cluster_robust_ols, fit_therapist_model

REF = Path(__file__).parents[1] / "reference"
R = json.loads((REF / "clustered.json").read_text())
DATA = pd.read_csv(REF / "clustered.csv")
NAMES = ["Intercept", "arm[selfreview]", "baseline"]  # R: (Intercept), armselfreview, baseline


def test_therapist_model_matches_lmer():
    res = fit_therapist_model(DATA)
    ref = R["lmer"]
    assert [e.name for e in res.model.fixed] == NAMES and res.n_clusters == 16
    np.testing.assert_allclose([e.estimate for e in res.model.fixed], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose([e.se for e in res.model.fixed], ref["se"], rtol=1e-6)
    np.testing.assert_allclose([e.p_value for e in res.model.fixed], ref["p_wald_z"], rtol=1e-5)
    np.testing.assert_allclose(res.model.group_variance, ref["var_therapist"], rtol=1e-6)
    np.testing.assert_allclose(res.model.residual_variance, ref["var_residual"], rtol=1e-6)
    np.testing.assert_allclose(res.model.criterion, ref["reml_criterion"], rtol=1e-9)


def test_icc_and_profile_ci_match_lme4_devfun():
    icc = fit_therapist_model(DATA).icc
    ref = R["lmer"]
    np.testing.assert_allclose(icc.estimate, ref["icc"], rtol=1e-6)
    np.testing.assert_allclose([icc.ci_low, icc.ci_high], ref["icc_ci_profile"], rtol=1e-6)
    assert icc.method == "reml_profile_likelihood"


def test_icc_ci_widens_with_level():
    narrow = fit_therapist_model(DATA, level=0.8).icc
    wide = fit_therapist_model(DATA, level=0.99).icc
    assert wide.ci_low < narrow.ci_low < narrow.estimate < narrow.ci_high < wide.ci_high


def test_icc_lower_limit_is_zero_without_clustering():
    rng = np.random.default_rng(5)
    flat = DATA.assign(followup=rng.normal(size=len(DATA)))  # no therapist effect at all
    icc = fit_therapist_model(flat, covariates=()).icc
    if icc.estimate < 1e-6:
        assert icc.ci_low == 0.0
    assert 0.0 <= icc.ci_low <= icc.estimate < icc.ci_high < 0.5


def test_cluster_robust_ols_matches_vcovcl_hc1():
    res = cluster_robust_ols(DATA)
    ref = R["ols_cluster"]
    assert [e.name for e in res.coefficients] == NAMES and res.n_clusters == ref["n_clusters"]
    for key, attr in [("estimate", "estimate"), ("se", "se"), ("p_t_df_G_minus_1", "p_value"),
                      ("ci_low", "ci_low"), ("ci_high", "ci_high")]:
        np.testing.assert_allclose([getattr(e, attr) for e in res.coefficients], ref[key],
                                   rtol=1e-6, err_msg=key)


def test_bad_options():
    with pytest.raises(ValueError, match="therapist"):
        cluster_robust_ols(DATA.drop(columns="therapist_id"))
    with pytest.raises(ValueError, match="level"):
        fit_therapist_model(DATA, level=0)
    with pytest.raises(ValueError, match="cluster"):
        cluster_robust_ols(DATA.assign(therapist_id="t1"))
