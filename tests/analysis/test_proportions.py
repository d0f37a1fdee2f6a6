"""hwtrial.analysis.proportions against R (tests/reference/proportions.R) and Newcombe 1998."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hwtrial.analysis.proportions import (
    number_needed_to_treat,
    proportions_from_counts,
    risk_difference,
    risk_ratio,
    wilson_ci,
)

REF = json.loads((Path(__file__).parents[1] / "reference" / "proportions.json").read_text())
RTOL = 1e-6


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['x1']}/{c['n1']}-{c['level']}")
def test_matches_r(case):
    r = proportions_from_counts(case["x1"], case["n1"], case["x2"], case["n2"],
                                level=case["level"])
    np.testing.assert_allclose([r.p1.ci_low, r.p1.ci_high], case["wilson1"], rtol=RTOL)
    np.testing.assert_allclose([r.p2.ci_low, r.p2.ci_high], case["wilson2"], rtol=RTOL)
    np.testing.assert_allclose([r.test.chi2, r.test.p_value], [case["chi2"], case["p_value"]],
                               rtol=RTOL)
    rd = r.risk_difference
    np.testing.assert_allclose([rd.estimate, rd.ci_low, rd.ci_high],
                               [case["rd"], *case["rd_ci"]], rtol=RTOL)
    for est, key in ((r.risk_ratio, "rr"), (r.odds_ratio, "or")):
        np.testing.assert_allclose(
            [est.estimate, est.se, est.ci_low, est.ci_high, est.p_value],
            [case[key], case[f"{key}_se"], *case[f"{key}_ci"], case[f"{key}_p"]], rtol=RTOL)


@pytest.mark.parametrize("row", REF["newcombe_1998_table2"], ids=lambda r: f"{r['x1']}/{r['n1']}")
def test_newcombe_published_table2(row):
    rd = risk_difference(row["x1"], row["n1"], row["x2"], row["n2"])
    # the paper prints 4 decimals, so agreement is to rounding
    assert rd.ci_low == pytest.approx(row["lo"], abs=5e-5)
    assert rd.ci_high == pytest.approx(row["hi"], abs=5e-5)


def test_wilson_edges_are_exact():
    assert wilson_ci(0, 10)[0] == 0.0
    assert wilson_ci(10, 10)[1] == 1.0


def test_nnt_inverts_rd_interval():
    r = proportions_from_counts(56, 70, 48, 80)
    assert r.nnt.estimate == pytest.approx(5.0)
    assert r.nnt.ci_low == pytest.approx(1 / r.risk_difference.ci_high)
    assert r.nnt.ci_high == pytest.approx(1 / r.risk_difference.ci_low)
    assert r.nnt.extra["disjoint"] is False


def test_nnt_when_rd_interval_crosses_zero_is_disjoint():
    rd = risk_difference(30, 100, 25, 100)
    assert rd.ci_low < 0 < rd.ci_high
    nnt = number_needed_to_treat(rd)
    assert nnt.extra["disjoint"] is True
    assert nnt.ci_low == pytest.approx(1 / rd.ci_low) and nnt.ci_low < 0
    assert nnt.ci_high == pytest.approx(1 / rd.ci_high) and nnt.ci_high > 0
    assert nnt.estimate == pytest.approx(20.0)


def test_zero_cell_ratio_has_no_interval():
    rr = risk_ratio(0, 20, 5, 20)
    assert math.isnan(rr.ci_low) and "zero cell" in rr.extra["note"]


def test_tiny_p_value_is_positive():
    r = proportions_from_counts(900, 1000, 100, 1000)
    assert 0 < r.test.p_value < 1e-200


@pytest.mark.parametrize("bad", [dict(level=1.5), dict(level=0)])
def test_bad_level_names_option(bad):
    with pytest.raises(ValueError, match="level"):
        proportions_from_counts(5, 10, 3, 10, **bad)


def test_impossible_counts_rejected():
    with pytest.raises(ValueError, match="x1"):
        proportions_from_counts(11, 10, 3, 10)
