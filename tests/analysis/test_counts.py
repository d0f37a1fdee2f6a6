"""hwtrial.analysis.counts against MASS::glm.nb, geepack::geeglm and t.test (counts.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.counts import arm_summaries, gee_poisson, negative_binomial

REF = Path(__file__).parents[1] / "reference"
R = json.loads((REF / "counts.json").read_text())
WEEKLY = pd.read_csv(REF / "counts.csv")
TOTALS = WEEKLY.groupby(["participant_id", "arm"], as_index=False)["edits"].sum()


def test_negative_binomial_matches_glm_nb():
    res = negative_binomial(TOTALS)
    ref = R["glm_nb"]
    rr = res.rate_ratios
    assert [e.name for e in rr] == ["Intercept", "arm[reminder]"]
    np.testing.assert_allclose([e.estimate for e in rr], ref["rate_ratio"], rtol=1e-6)
    np.testing.assert_allclose([e.se for e in rr], ref["se_log"], rtol=1e-6)
    np.testing.assert_allclose([e.ci_low for e in rr], ref["rr_ci_low"], rtol=1e-6)
    np.testing.assert_allclose([e.ci_high for e in rr], ref["rr_ci_high"], rtol=1e-6)
    np.testing.assert_allclose([e.p_value for e in rr], ref["p_wald_z"], rtol=1e-6)
    np.testing.assert_allclose(res.dispersion, ref["theta"], rtol=1e-6)
    np.testing.assert_allclose(res.log_likelihood, ref["loglik"], rtol=1e-9)


def test_negative_binomial_exposure_offset_scales_the_rate():
    doubled = TOTALS.assign(days=14.0)
    base = negative_binomial(TOTALS).rate_ratio("Intercept").estimate
    per_day = negative_binomial(doubled, exposure="days")
    assert per_day.rate_ratio("Intercept").estimate == pytest.approx(base / 14, rel=1e-8)
    assert per_day.rate_ratio("arm[reminder]").estimate == pytest.approx(
        R["glm_nb"]["rate_ratio"][1], rel=1e-6)


def test_gee_poisson_matches_geeglm():
    res = gee_poisson(WEEKLY.sample(frac=1.0, random_state=1))  # row order must not matter
    ref = R["geeglm"]
    rr = res.rate_ratios
    assert [e.name for e in rr] == ["Intercept", "arm[reminder]", "week"]
    np.testing.assert_allclose([e.extra["log_estimate"] for e in rr], ref["estimate_log"],
                               rtol=1e-6)
    np.testing.assert_allclose([e.se for e in rr], ref["se_robust"], rtol=1e-6)
    np.testing.assert_allclose([e.p_value for e in rr], ref["p_wald"], rtol=1e-6)
    np.testing.assert_allclose(res.dispersion, ref["alpha"], rtol=1e-6)
    np.testing.assert_allclose(res.scale, ref["scale"], rtol=1e-6)
    assert res.n_groups == 80 and rr[0].p_value > 0


def test_arm_summaries_match_t_test():
    got = arm_summaries(WEEKLY)
    for est, ref in zip(got, R["minutes_by_arm"], strict=True):
        assert est.name == f"mean[{ref['arm']}]" and est.n == ref["n"]
        np.testing.assert_allclose([est.estimate, est.se, est.ci_low, est.ci_high],
                                   [ref["mean"], ref["se"], ref["ci_low"], ref["ci_high"]],
                                   rtol=1e-9)


def test_bad_inputs():
    with pytest.raises(ValueError, match="whole counts"):
        negative_binomial(TOTALS.assign(edits=TOTALS["edits"] + 0.5))
    with pytest.raises(ValueError, match="'words'"):
        negative_binomial(TOTALS, outcome="words")
    with pytest.raises(ValueError, match="level"):
        gee_poisson(WEEKLY, level=2)
    with pytest.raises(ValueError, match="fewer than 2"):
        arm_summaries(WEEKLY.head(5))


def _simulated(n, theta, rng):
    arm = rng.random(n) < 0.5
    mu = np.exp(1.0 + 0.3 * arm)
    # theta None: binomial counts, underdispersed (variance below the mean)
    y = rng.binomial(10, mu / 10) if theta is None else rng.negative_binomial(
        theta, theta / (theta + mu))
    return pd.DataFrame({"arm": np.where(arm, "reminder", "control"), "edits": y})


def test_negative_binomial_agrees_with_statsmodels_on_a_large_sample():
    import statsmodels.api as sm

    data = _simulated(20_000, 2.0, np.random.default_rng(7))
    res = negative_binomial(data)
    X = np.column_stack([np.ones(len(data)), (data["arm"] == "reminder").to_numpy(float)])
    ref = sm.NegativeBinomial(data["edits"].to_numpy(float), X).fit(
        method="newton", tol=1e-12, maxiter=200, disp=0)
    np.testing.assert_allclose([e.extra["log_estimate"] for e in res.rate_ratios],
                               ref.params[:2], rtol=1e-6)
    np.testing.assert_allclose(res.dispersion, 1 / ref.params[2], rtol=1e-5)
    np.testing.assert_allclose(res.log_likelihood, ref.llf, rtol=1e-10)


def test_negative_binomial_reports_non_convergence_without_overdispersion():
    # underdispersed data: the NB2 maximum is at theta = infinity, so no finite theta is stationary
    with pytest.raises(RuntimeError, match="did not converge"):
        negative_binomial(_simulated(2_000, None, np.random.default_rng(3)))
