"""hwtrial.analysis.factorial against R glm / lm with ±1 codes (tests/reference/factorial.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.factorial import effect_codes, factorial_adherence, factorial_outcome

HERE = Path(__file__).parents[1] / "reference"
REF = json.loads((HERE / "factorial.json").read_text())
INST = pd.read_csv(HERE / "factorial.csv")
PART = INST.drop_duplicates("participant_id")
FACTORS = ["remind", "review", "frame"]
RNAME = {"(Intercept)": "Intercept", "A": "remind", "B": "review", "C": "frame",
         "A:B": "remind:review", "A:C": "remind:frame", "B:C": "review:frame",
         "A:B:C": "remind:review:frame", "sites2": "site[s2]", "baseline": "baseline"}


def _compare(res, ref, rtol=1e-6):
    got = {c.name: c for c in res.coefficients}
    assert set(got) == {RNAME[n] for n in ref["names"]}
    for field in ("estimate", "se", "p_value"):
        np.testing.assert_allclose([getattr(got[RNAME[n]], field) for n in ref["names"]],
                                   ref[field], rtol=rtol, err_msg=field)


def test_adherence_full_factorial_clustered():
    res = factorial_adherence(INST, FACTORS, strata=["site"])
    _compare(res, REF["glm_full_cluster"])
    assert len(res.effects) == 7


def test_adherence_model_based():
    _compare(factorial_adherence(INST, FACTORS, strata=["site"], cluster=None),
             REF["glm_full_model"])


def test_adherence_two_way_interactions_only():
    res = factorial_adherence(INST, FACTORS, cluster=None, max_order=2)
    _compare(res, REF["glm_two_way_model"])
    assert [e.name for e in res.effects][-1] == "review:frame"


@pytest.mark.parametrize("key,cov", [("lm_full", "classical"), ("lm_full_hc3", "HC3")])
def test_outcome_full_factorial(key, cov):
    _compare(factorial_outcome(PART, FACTORS, strata=["site"], cov_type=cov), REF[key])


def test_high_level_flips_sign():
    a = factorial_outcome(PART, FACTORS, strata=["site"])
    b = factorial_outcome(PART, FACTORS, strata=["site"], high={"frame": "gain"})
    ea = {e.name: e.estimate for e in a.effects}
    eb = {e.name: e.estimate for e in b.effects}
    assert eb["frame"] == pytest.approx(-ea["frame"])
    assert eb["remind"] == pytest.approx(ea["remind"])


def test_effect_codes_reject_three_levels():
    df = pd.DataFrame({"f": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="factor 'f'"):
        effect_codes(df, ["f"])


def test_bad_max_order_named():
    with pytest.raises(ValueError, match="max_order"):
        effect_codes(PART, FACTORS, max_order=4)
