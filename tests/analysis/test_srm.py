"""hwtrial.analysis.srm against R chisq.test (tests/reference/srm.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.srm import allocation_srm, outcome_srm, srm_check

REF = json.loads((Path(__file__).parents[1] / "reference" / "srm.json").read_text())


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: str(c["x"]))
def test_matches_r(case):
    r = srm_check(case["x"], case["ratio"])
    # R underflows to p = 0 for chi2 = 4000; we report the smallest double instead
    expected_p = case["p_value"] or np.finfo(float).tiny
    np.testing.assert_allclose([r.chi2, r.p_value], [case["chi2"], expected_p], rtol=1e-6)
    np.testing.assert_allclose(r.expected, case["expected"], rtol=1e-12)
    assert r.df == case["df"]
    assert r.flagged == (case["p_value"] < 0.001)


def test_large_mismatch_is_flagged_with_positive_p():
    r = srm_check({"A": 60000, "B": 40000})
    assert r.flagged and 0 < r.p_value <= np.finfo(float).tiny


def test_allocation_and_outcome_srm_from_table():
    df = pd.DataFrame({"arm": ["A"] * 500 + ["B"] * 1000,
                       "followup": [1.0] * 500 + [1.0] * 600 + [np.nan] * 400})
    alloc = allocation_srm(df, {"A": 1, "B": 2})
    assert alloc.chi2 == pytest.approx(0.0) and not alloc.flagged
    out = outcome_srm(df, {"A": 1, "B": 2})
    assert out.observed == (500, 600) and out.flagged


@pytest.mark.parametrize("kwargs", [dict(ratio=[1, 0]), dict(ratio=[1, 1, 1])])
def test_bad_ratio(kwargs):
    with pytest.raises(ValueError, match="ratio"):
        srm_check([10, 12], **kwargs)


def test_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        srm_check([10, 12], threshold=2)


GB = json.loads((Path(__file__).parents[1] / "reference" / "gbstats.json").read_text())


@pytest.mark.parametrize("case", GB["srm"], ids=lambda c: str(c["users"]))
def test_equals_gbstats_check_srm(case):
    """gbstats 0.8 ``check_srm`` values stored by tests/reference/gbstats_make.py."""
    r = srm_check(case["users"], case["weights"])
    assert r.p_value == pytest.approx(case["p_value"], rel=1e-9)
