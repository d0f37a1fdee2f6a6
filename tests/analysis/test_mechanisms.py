"""hwtrial.analysis.mechanisms against R lm and AER::ivreg (tests/reference/mechanisms.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.mechanisms import cace, mediation

REF = Path(__file__).parents[1] / "reference"
R = json.loads((REF / "mechanisms.json").read_text())
DATA = pd.read_csv(REF / "mechanisms.csv")
KEYS = ["estimate", "se", "p", "ci_low", "ci_high"]
ATTRS = ["estimate", "se", "p_value", "ci_low", "ci_high"]


def _vals(est):
    return [getattr(est, a) for a in ATTRS]


def test_paths_match_lm():
    res = mediation(DATA, covariates=["baseline"], n_boot=200, rng=1)
    for name in ("a", "b", "direct", "total"):
        np.testing.assert_allclose(_vals(getattr(res, name)), [R[name][k] for k in KEYS],
                                   rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(res.indirect.estimate, R["indirect"], rtol=1e-9)
    np.testing.assert_allclose(res.indirect.extra["sobel_se"], R["sobel_se"], rtol=1e-9)
    # OLS identity: total = direct + a*b
    assert res.total.estimate == pytest.approx(res.direct.estimate + res.indirect.estimate)


def test_bootstrap_is_reproducible_and_close_to_sobel():
    one = mediation(DATA, covariates=["baseline"], n_boot=2000, rng=20240611)
    two = mediation(DATA, covariates=["baseline"], n_boot=2000,
                    rng=np.random.default_rng(20240611))
    assert one.indirect == two.indirect
    other = mediation(DATA, covariates=["baseline"], n_boot=2000, rng=7).indirect
    assert other.ci_low != one.indirect.ci_low
    ind = one.indirect
    assert ind.ci_low < ind.estimate < ind.ci_high < 0
    # n = 150: bootstrap SD and Sobel SE agree loosely; limits within 0.15 of Sobel's.
    assert ind.se == pytest.approx(ind.extra["sobel_se"], rel=0.2)
    assert abs(ind.ci_low - ind.extra["sobel_ci_low"]) < 0.15
    assert abs(ind.ci_high - ind.extra["sobel_ci_high"]) < 0.15


@pytest.mark.parametrize("kind,key", [("HC1", "cace_hc1"), ("classical", "cace_classical")])
def test_cace_matches_ivreg(kind, key):
    est = cace(DATA, outcome="outcome_itt", covariates=["baseline"], se=kind)
    np.testing.assert_allclose(_vals(est), [R[key][k] for k in KEYS], rtol=1e-6)
    assert est.extra["df"] == R["df_residual_iv"] and est.extra["first_stage_F"] > 10


def test_bad_options():
    with pytest.raises(ValueError, match="se"):
        cace(DATA, outcome="outcome_itt", se="HC3")
    with pytest.raises(ValueError, match="n_boot"):
        mediation(DATA, n_boot=10)
    with pytest.raises(ValueError, match="exactly 2"):
        mediation(DATA.assign(arm=np.arange(len(DATA)) % 3))
    with pytest.raises(ValueError, match="reference"):
        cace(DATA, outcome="outcome_itt", reference="placebo")
