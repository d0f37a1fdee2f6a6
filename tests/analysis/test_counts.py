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


def test_negative_binomial_without_overdispersion_is_the_poisson_model():
    # underdispersed and equidispersed data: the NB2 likelihood is largest at theta = infinity,
    # whatever the optimiser; the result says so and carries the Poisson GLM (NB2's limit)
    import statsmodels.api as sm

    for n, seed in ((2_000, 3), (500, 11)):
        data = _simulated(n, None, np.random.default_rng(seed))
        y = data["edits"].to_numpy(float)
        X = np.column_stack([np.ones(len(data)), (data["arm"] == "reminder").to_numpy(float)])
        poisson = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-12)
        mu = poisson.fittedvalues
        assert np.sum((y - mu) ** 2 - y) <= 0  # the rule's condition holds for these data
        res = negative_binomial(data)
        assert res.boundary and np.isinf(res.dispersion)
        np.testing.assert_allclose([e.extra["log_estimate"] for e in res.rate_ratios], poisson.params,
                                   rtol=1e-8)
        np.testing.assert_allclose([e.se for e in res.rate_ratios], poisson.bse, rtol=1e-8)
        np.testing.assert_allclose(res.log_likelihood, poisson.llf, rtol=1e-10)
        assert {e.method for e in res.rate_ratios} == {"poisson_wald_nb2_boundary"}


def test_overdispersed_data_get_a_finite_theta_not_the_boundary():
    res = negative_binomial(_simulated(2_000, 2.0, np.random.default_rng(3)))
    assert not res.boundary and 1.0 < res.dispersion < 4.0


def test_boundary_rule_is_the_sign_of_the_overdispersion_score():
    from hwtrial.analysis.counts import fit_nb2, overdispersion_score

    y = np.array([2.0, 2, 3, 2, 2, 3, 2, 2])  # underdispersed: variance far below the mean
    X = np.ones((len(y), 1))
    assert overdispersion_score(y, np.full(len(y), y.mean())) < 0
    beta, theta, iterations = fit_nb2(y, X)
    assert np.isinf(theta) and iterations == 0 and np.isclose(np.exp(beta[0]), y.mean())
    y = np.array([0.0, 0, 1, 9, 0, 12, 0, 2])  # overdispersed
    assert overdispersion_score(y, np.full(len(y), y.mean())) > 0
    assert np.isfinite(fit_nb2(y, X)[1])
