"""hwtrial.analysis.outcomes against R lm / vcovHC / t.test / chisq.test (reference/outcomes.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.outcomes import (
    ancova,
    hedges_g,
    hedges_g_from_stats,
    missing_by_arm,
    population_mask,
    select_population,
)
from hwtrial.analysis.twosample import welch_t_test

HERE = Path(__file__).parents[1] / "reference"
REF = json.loads((HERE / "outcomes.json").read_text())
DATA = pd.read_csv(HERE / "outcomes.csv")
NAMES = {"(Intercept)": "Intercept", "armremind": "arm[remind]", "armreview": "arm[review]",
         "baseline": "baseline", "sites2": "site[s2]", "sites3": "site[s3]"}


@pytest.mark.parametrize("cov_type", ["classical", "HC0", "HC1", "HC2", "HC3"])
def test_ancova_matches_r(cov_type):
    res = ancova(DATA, strata=["site"], cov_type=cov_type)
    ref = REF["ancova"][cov_type]
    assert [c.name for c in res.coefficients] == [NAMES[n] for n in ref["names"]]
    assert (res.n, res.df_resid) == (ref["n"], ref["df"])
    for field in ("estimate", "se", "p_value", "ci_low", "ci_high"):
        np.testing.assert_allclose([getattr(c, field) for c in res.coefficients], ref[field],
                                   rtol=1e-6, err_msg=field)
    assert [e.name for e in res.effects] == ["arm[remind]", "arm[review]"]


def test_per_protocol_is_a_row_filter():
    pp = select_population(DATA, "per_protocol")
    res = ancova(pp, strata=["site"])
    ref = REF["ancova_per_protocol"]
    assert res.n == ref["n"]
    np.testing.assert_allclose([c.estimate for c in res.coefficients], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose([c.se for c in res.coefficients], ref["se"], rtol=1e-6)
    assert population_mask(DATA, "itt").all()


def test_bad_population_and_cov_type_named():
    with pytest.raises(ValueError, match="population"):
        population_mask(DATA, "mitt")
    with pytest.raises(ValueError, match="cov_type"):
        ancova(DATA, cov_type="HC4")


def test_welch_on_outcomes_matches_r():
    y1 = DATA.loc[DATA.arm == "review", "followup"]
    y0 = DATA.loc[DATA.arm == "control", "followup"]
    r = welch_t_test(y1, y0)
    ref = REF["welch"]
    np.testing.assert_allclose(
        [r.difference.estimate, r.difference.se, r.statistic, r.df, r.difference.p_value,
         r.difference.ci_low, r.difference.ci_high],
        [ref["estimate"], ref["se"], ref["t"], ref["df"], ref["p_value"], *ref["ci"]], rtol=1e-6)


def test_hedges_g_matches_r_formula():
    y1 = DATA.loc[DATA.arm == "review", "followup"]
    y0 = DATA.loc[DATA.arm == "control", "followup"]
    g = hedges_g(y1, y0)
    ref = REF["hedges_g"]
    np.testing.assert_allclose(
        [g.estimate, g.se, g.ci_low, g.ci_high, g.p_value, g.extra["d"], g.extra["j"]],
        [ref["g"], ref["se"], *ref["ci"], ref["p_value"], ref["d"], ref["J"]], rtol=1e-6)


def test_hedges_g_published_example():
    ex = REF["hedges_g_borenstein_2009"]
    g = hedges_g_from_stats(ex["n1"], ex["m1"], ex["s1"], ex["n2"], ex["m2"], ex["s2"])
    # the book prints 4 decimals
    assert g.extra["d"] == pytest.approx(ex["d"], abs=5e-5)
    assert g.extra["j"] == pytest.approx(ex["J"], abs=5e-5)
    assert g.estimate == pytest.approx(ex["g"], abs=5e-5)
    assert g.se == pytest.approx(ex["se_g"], abs=5e-5)


def test_missing_by_arm_matches_chisq_test():
    m = missing_by_arm(DATA)
    ref = REF["missing"]
    assert [a.arm for a in m.arms] == ref["arms"]
    assert [a.n_missing for a in m.arms] == ref["n_missing"]
    assert [a.n for a in m.arms] == ref["n"]
    np.testing.assert_allclose([m.chi2, m.p_value], [ref["chi2"], ref["p_value"]], rtol=1e-6)
    assert m.df == ref["df"]


def test_no_missing_gives_undefined_test():
    m = missing_by_arm(DATA.assign(followup=1.0))
    assert np.isnan(m.p_value) and all(a.n_missing == 0 for a in m.arms)
