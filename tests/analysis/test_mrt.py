"""hwtrial.analysis.mrt (WCLS) against a hand-fitted weighted lm in R (tests/reference/mrt.R)
and against simulated micro-randomised trials with a known proximal effect."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.mrt import wcls

REF = Path(__file__).parents[1] / "reference"
R = json.loads((REF / "mrt.json").read_text())
DATA = pd.read_csv(REF / "mrt.csv")
ATTRS = {"estimate": "estimate", "se": "se", "p_value": "p", "ci_low": "ci_low",
         "ci_high": "ci_high"}


@pytest.mark.parametrize("key,kwargs", [
    ("marginal", {}),
    ("moderated", {"moderators": ["weekend"]}),
    ("marginal_small", {"small_sample": True}),
    ("moderated_small", {"moderators": ["weekend"], "small_sample": True}),
])
def test_matches_r_weighted_lm_with_cluster_sandwich(key, kwargs):
    res = wcls(DATA, controls=["stress"], **kwargs)
    ref = R[key]
    assert res.n_participants == R["n_participants"] and res.n_available == R["n_available"]
    np.testing.assert_allclose(res.p_tilde, R["p_tilde"], rtol=1e-12)
    for attr, k in ATTRS.items():
        np.testing.assert_allclose([getattr(e, attr) for e in res.effects],
                                   np.atleast_1d(ref[k]), rtol=1e-6, err_msg=f"{key} {attr}")
    assert [e.name for e in res.effects][1:] == [f"effect:{m}" for m in
                                                kwargs.get("moderators", [])]


def _simulate(rng, n=30, T=40, effect=0.25):
    """MRT whose randomisation probability depends on a time-varying covariate (so the
    weights matter) and whose proximal effect is the constant ``effect``."""
    stress = rng.normal(size=(n, T))
    p = np.where(stress > 0.3, 0.7, 0.35)
    avail = rng.random((n, T)) < 0.8
    a = (rng.random((n, T)) < p) & avail
    y = 0.5 * stress + rng.normal(0, 0.7, (n, 1)) + effect * a + rng.normal(size=(n, T))
    return pd.DataFrame({
        "participant_id": np.repeat(np.arange(n), T), "decision_point": np.tile(np.arange(T), n),
        "available": avail.ravel().astype(int), "treated": a.ravel().astype(int),
        "probability": p.ravel(), "outcome": np.where(avail, y, np.nan).ravel(),
        "stress": stress.ravel()})


@pytest.mark.parametrize("small_sample", [False, True])
def test_simulated_trials_recover_effect_and_cover(small_sample):
    rng = np.random.default_rng(2018)
    est, cover = [], 0
    for _ in range(200):
        e = wcls(_simulate(rng), small_sample=small_sample).effect()
        est.append(e.estimate)
        cover += e.ci_low <= 0.25 <= e.ci_high
    # 200 runs: mean within ~3 Monte Carlo SEs of the truth; coverage within ~3 binomial SDs.
    assert abs(np.mean(est) - 0.25) < 3 * np.std(est) / np.sqrt(200)
    assert 0.90 <= cover / 200 <= 0.99


def test_unweighted_analysis_would_be_biased_but_wcls_is_not():
    # Stress raises both treatment probability and outcome: an unweighted, uncentred
    # regression without the control is confounded; WCLS weights remove that.
    rng = np.random.default_rng(11)
    d = pd.concat([_simulate(rng, n=200, T=40).assign(participant_id=lambda x, i=i:
                                                      x.participant_id + 1000 * i)
                   for i in range(2)])
    av = d[d.available == 1]
    naive = av[av.treated == 1].outcome.mean() - av[av.treated == 0].outcome.mean()
    res = wcls(d).effect()
    assert abs(naive - 0.25) > 5 * res.se
    assert abs(res.estimate - 0.25) < 3 * res.se


def test_bad_inputs():
    with pytest.raises(ValueError, match="probability"):
        wcls(DATA.assign(probability=1.0))
    with pytest.raises(ValueError, match="p_tilde"):
        wcls(DATA, p_tilde=1.2)
    with pytest.raises(ValueError, match="available"):
        wcls(DATA.assign(available=2))
    with pytest.raises(ValueError, match="'mood'"):
        wcls(DATA, moderators=["mood"])
    with pytest.raises(ValueError, match="missing values"):
        wcls(DATA.assign(outcome=np.nan))
