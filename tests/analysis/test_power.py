"""hwtrial.analysis.power against R power.prop.test / power.t.test (tests/reference/power.R)."""

import json
from pathlib import Path

import numpy as np
import pytest

from hwtrial.analysis.power import power_factorial, power_means, power_proportions

REF = json.loads((Path(__file__).parents[1] / "reference" / "power.json").read_text())
ALT = {"one.sided": "one-sided", "two.sided": "two-sided"}


def _kwargs(args, rename):
    out = {rename.get(k, k): v for k, v in args.items()}
    if "alternative" in out:
        out["alternative"] = ALT[out["alternative"]]
    return out


@pytest.mark.parametrize("case", REF["prop"], ids=lambda c: str(c["args"]))
def test_proportions_match_r(case):
    kw = _kwargs(case["args"], {"sig.level": "alpha"})
    kw.setdefault("n", None)
    kw.setdefault("p2", None)
    kw.setdefault("power", None)
    r = power_proportions(**kw)
    np.testing.assert_allclose([r.n, r.effect["p2"], r.power],
                               [case["n"], case["p2"], case["power"]], rtol=1e-6)


@pytest.mark.parametrize("case", REF["t"], ids=lambda c: str(c["args"]))
def test_means_match_r(case):
    kw = _kwargs(case["args"], {"sig.level": "alpha"})
    for k in ("n", "delta", "power"):
        kw.setdefault(k, None)
    r = power_means(**kw)
    np.testing.assert_allclose([r.n, r.effect["delta"], r.power],
                               [case["n"], case["delta"], case["power"]], rtol=1e-6)


def test_factorial_main_effect_is_two_arm_with_half_n():
    ref = REF["factorial_k3_delta05"]
    r = power_factorial(3, delta=0.5, sd=1.0, power=0.8)
    np.testing.assert_allclose([r.per_level.n, r.n_total],
                               [ref["n_per_level"], ref["n_total"]], rtol=1e-6)
    assert r.n_total_balanced % 8 == 0 and r.n_total_balanced >= r.n_total
    assert r.n_per_cell * 8 == r.n_total_balanced
    # power at the balanced N is at least the target
    assert power_factorial(3, n_total=r.n_total_balanced, delta=0.5, sd=1.0,
                           power=None).per_level.power >= 0.8


def test_factorial_binary_uses_prop_test():
    two_arm = power_proportions(p1=0.5, p2=0.65, power=0.8)
    r = power_factorial(2, outcome="binary", p1=0.5, p2=0.65, power=0.8)
    assert r.n_total == pytest.approx(2 * two_arm.n)


@pytest.mark.parametrize("kwargs,match", [
    (dict(delta=1, power=0.8, n=10), "exactly one"),
    (dict(delta=1, power=0.8, alpha=0), "alpha"),
    (dict(delta=1, power=0.8, alternative="greater"), "alternative"),
    (dict(delta=1, power=0.8, sd=-1), "sd"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        power_means(**kwargs)


def test_bad_factorial_options():
    with pytest.raises(ValueError, match="k"):
        power_factorial(0, delta=1, power=0.8)
    with pytest.raises(ValueError, match="outcome"):
        power_factorial(2, outcome="count", delta=1, power=0.8)
