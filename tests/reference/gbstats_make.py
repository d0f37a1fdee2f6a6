"""Make tests/reference/gbstats.json: GrowthBook gbstats 0.8.0 outputs on fixed inputs.

Run with the separate gbstats environment (Python 3.11, pandas<2), from the repo root::

    python3 -m venv /work/gbvenv && /work/gbvenv/bin/pip install gbstats==0.8.0 'pandas<2'
    /work/gbvenv/bin/python tests/reference/gbstats_make.py

Arm ``a`` is gbstats' control and ``b`` its variation; gbstats reports ``b - a``.
"""

import json
from importlib.metadata import version

import numpy as np
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
from gbstats.utils import check_srm


def mean_case(rng):
    out = {}
    for arm in ("a", "b"):
        n = int(rng.integers(30, 5000))
        y = rng.gamma(2.0, rng.uniform(1, 3), n)
        out[arm] = {"n": n, "sum": float(y.sum()), "sum_squares": float((y**2).sum())}
    return out


def prop_case(rng):
    out = {}
    for arm in ("a", "b"):
        n = int(rng.integers(30, 5000))
        out[arm] = {"n": n, "sum": int(rng.binomial(n, rng.uniform(0.2, 0.8)))}
    return out


def run(case, kind, difference_type, alpha):
    cls = SampleMeanStatistic if kind == "mean" else ProportionStatistic
    a, b = cls(**case["a"]), cls(**case["b"])
    cfg = FrequentistConfig(alpha=alpha, difference_type=difference_type)
    r = TwoSidedTTest(a, b, cfg).compute_result()
    return {"expected": r.expected, "ci": list(r.ci), "p_value": r.p_value,
            "stddev": r.uplift.stddev}


def main():
    rng = np.random.default_rng(20240601)
    cases = []
    for i in range(20):
        kind = "mean" if i % 2 == 0 else "prop"
        case = mean_case(rng) if kind == "mean" else prop_case(rng)
        for difference_type in ("absolute", "relative"):
            for alpha in (0.05, 0.1):
                cases.append({"kind": kind, "difference_type": difference_type,
                              "alpha": alpha, "input": case,
                              "gbstats": run(case, kind, difference_type, alpha)})
    srm = []
    for users, weights in (([5000, 5120], [0.5, 0.5]), ([1000, 1120], [1, 1]),
                           ([330, 352, 318], [1, 1, 1]), ([210, 390], [1, 2]),
                           ([4900, 5300, 5000], [0.25, 0.5, 0.25])):
        srm.append({"users": users, "weights": weights, "p_value": check_srm(users, weights)})
    with open("tests/reference/gbstats.json", "w") as fh:
        json.dump({"gbstats_version": version("gbstats"), "tests": cases, "srm": srm}, fh,
                  indent=1)


if __name__ == "__main__":
    main()
