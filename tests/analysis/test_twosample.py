"""hwtrial.analysis.twosample against R t.test (tests/reference/twosample.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.twosample import (
    moments_from_sums,
    welch_from_counts,
    welch_from_stats,
    welch_from_sums,
    welch_t_test,
)

HERE = Path(__file__).parents[1] / "reference"
REF = json.loads((HERE / "twosample.json").read_text())
DATA = pd.read_csv(HERE / "twosample.csv")
Y1 = DATA.loc[DATA.group == "treat", "y"].to_numpy()
Y0 = DATA.loc[DATA.group == "control", "y"].to_numpy()
ALT = {"two.sided": "two-sided", "greater": "greater", "less": "less"}


@pytest.mark.parametrize("case", REF["tests"], ids=lambda c: f"{c['alternative']}-{c['level']}")
def test_matches_r_t_test(case):
    r = welch_t_test(Y1, Y0, level=case["level"], alternative=ALT[case["alternative"]])
    d = r.difference
    np.testing.assert_allclose(
        [d.estimate, d.se, r.statistic, r.df, d.p_value],
        [case["estimate"], case["se"], case["t"], case["df"], case["p_value"]], rtol=1e-6)
    lo, hi = case["ci"]
    for got, want in ((d.ci_low, lo), (d.ci_high, hi)):
        if want in ("Inf", "-Inf", None) or not np.isfinite(float(want)):
            assert np.isinf(got)
        else:
            assert got == pytest.approx(float(want), rel=1e-6)


def test_sufficient_statistics_equal_raw_data():
    raw = welch_t_test(Y1, Y0).difference
    sums = welch_from_sums(Y1.size, Y1.sum(), (Y1**2).sum(), Y0.size, Y0.sum(), (Y0**2).sum())
    np.testing.assert_allclose(
        [sums.difference.estimate, sums.difference.se, sums.difference.p_value],
        [raw.estimate, raw.se, raw.p_value], rtol=1e-9)


def test_large_t_keeps_positive_p():
    r = welch_t_test(Y1 + 4, Y0)
    assert r.statistic == pytest.approx(REF["big"]["t"], rel=1e-6)
    assert r.statistic > 8
    assert r.difference.p_value == pytest.approx(REF["big"]["p_value"], rel=1e-6)
    assert r.difference.p_value > 0


def test_relative_lift_delta_method():
    r = welch_from_stats(100, 1.2, 0.5, 120, 1.0, 0.4, relative=True)
    assert r.difference.estimate == pytest.approx(0.2)
    se = np.sqrt(0.5 / 100 / 1.0**2 + 0.4 / 120 * 1.2**2 / 1.0**4)
    assert r.difference.se == pytest.approx(se)


def test_moments_from_sums():
    m, v = moments_from_sums(4, 10.0, 30.0)
    assert (m, v) == (pytest.approx(2.5), pytest.approx(np.var([1, 2, 3, 4], ddof=1)))


@pytest.mark.parametrize("kwargs,match", [
    (dict(alternative="two.sided"), "alternative"),
    (dict(level=95), "level"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        welch_from_stats(10, 1, 1, 10, 0, 1, **kwargs)


GB = json.loads((HERE / "gbstats.json").read_text())


def _hwtrial_for(case):
    a, b = case["input"]["a"], case["input"]["b"]
    kwargs = dict(level=1 - case["alpha"], relative=case["difference_type"] == "relative")
    if case["kind"] == "mean":
        return welch_from_sums(b["n"], b["sum"], b["sum_squares"],
                               a["n"], a["sum"], a["sum_squares"], **kwargs)
    return welch_from_counts(b["sum"], b["n"], a["sum"], a["n"], **kwargs)


@pytest.mark.parametrize("case", GB["tests"], ids=lambda c: f"{c['kind']}-{c['difference_type']}")
def test_equals_gbstats(case):
    """gbstats 0.8 outputs stored by tests/reference/gbstats_make.py (no gbstats needed here)."""
    d = _hwtrial_for(case).difference
    gb = case["gbstats"]
    np.testing.assert_allclose([d.estimate, d.se, d.ci_low, d.ci_high],
                               [gb["expected"], gb["stddev"], *gb["ci"]], rtol=1e-9)
    if gb["p_value"] > 1e-12:
        assert d.p_value == pytest.approx(gb["p_value"], rel=1e-6)
    else:
        # gbstats computes 1 - cdf, which rounds to 0; we keep the tiny positive value
        assert 0 < d.p_value <= 1e-12
