"""Benchmark: hwtrial vs GrowthBook gbstats 0.8 per-arm tests on sufficient statistics.

Not a pytest test. Run from the repo root::

    /work/main/.venv/bin/python tests/bench/bench_gbstats.py [--n 2000] [--gbpython PATH]

gbstats needs pandas<2, so it runs in its own venv (default /work/gbvenv) in a subprocess
that times itself; both sides get identical inputs through one JSON document. Printed:
per-call timings and the max absolute difference of estimates, CIs and p-values.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from hwtrial.analysis.srm import srm_check
from hwtrial.analysis.twosample import welch_from_counts, welch_from_sums

GB_SCRIPT = r"""
import json, sys, time
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic
from gbstats.utils import check_srm

data = json.load(sys.stdin)
cfg = FrequentistConfig(alpha=0.05, difference_type="absolute")
out = {"mean": [], "prop": [], "srm": []}
t0 = time.perf_counter()
for a, b in data["mean"]:
    r = TwoSidedTTest(SampleMeanStatistic(**a), SampleMeanStatistic(**b), cfg).compute_result()
    out["mean"].append([r.expected, r.ci[0], r.ci[1], r.p_value])
t1 = time.perf_counter()
for a, b in data["prop"]:
    r = TwoSidedTTest(ProportionStatistic(**a), ProportionStatistic(**b), cfg).compute_result()
    out["prop"].append([r.expected, r.ci[0], r.ci[1], r.p_value])
t2 = time.perf_counter()
for users, weights in data["srm"]:
    out["srm"].append(check_srm(users, weights))
t3 = time.perf_counter()
out["seconds"] = {"mean": t1 - t0, "prop": t2 - t1, "srm": t3 - t2}
json.dump(out, sys.stdout)
"""


def make_inputs(n: int, seed: int = 1) -> dict:
    """Random per-arm sufficient statistics; arm a is gbstats' control, b the variation."""
    rng = np.random.default_rng(seed)
    mean, prop, srm = [], [], []
    for _ in range(n):
        pair = []
        for _arm in "ab":
            k = int(rng.integers(50, 5000))
            y = rng.normal(rng.uniform(5, 6), rng.uniform(1, 3), k)
            pair.append({"n": k, "sum": float(y.sum()), "sum_squares": float((y * y).sum())})
        mean.append(pair)
        prop.append([{"n": (k := int(rng.integers(50, 5000))),
                      "sum": int(rng.binomial(k, rng.uniform(0.3, 0.7)))} for _arm in "ab"])
        srm.append([[int(v) for v in rng.integers(900, 1100, 3)], [1.0, 1.0, 1.0]])
    return {"mean": mean, "prop": prop, "srm": srm}


def run_hwtrial(data: dict) -> dict:
    out = {"mean": [], "prop": [], "srm": []}
    t0 = time.perf_counter()
    for a, b in data["mean"]:
        d = welch_from_sums(b["n"], b["sum"], b["sum_squares"],
                            a["n"], a["sum"], a["sum_squares"]).difference
        out["mean"].append([d.estimate, d.ci_low, d.ci_high, d.p_value])
    t1 = time.perf_counter()
    for a, b in data["prop"]:
        d = welch_from_counts(b["sum"], b["n"], a["sum"], a["n"]).difference
        out["prop"].append([d.estimate, d.ci_low, d.ci_high, d.p_value])
    t2 = time.perf_counter()
    for users, weights in data["srm"]:
        out["srm"].append(srm_check(users, weights).p_value)
    t3 = time.perf_counter()
    out["seconds"] = {"mean": t1 - t0, "prop": t2 - t1, "srm": t3 - t2}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="comparisons per kind")
    ap.add_argument("--gbpython", default="/work/gbvenv/bin/python")
    args = ap.parse_args(argv)
    data = make_inputs(args.n)
    gb_proc = subprocess.run([args.gbpython, "-c", GB_SCRIPT], input=json.dumps(data),
                             capture_output=True, text=True, check=True)
    gb = json.loads(gb_proc.stdout)
    hw = run_hwtrial(data)
    print(f"{args.n} comparisons per kind; microseconds per call (hwtrial | gbstats 0.8)")
    worst = 0.0
    for kind in ("mean", "prop", "srm"):
        h, g = np.asarray(hw[kind], float), np.asarray(gb[kind], float)
        diff = float(np.max(np.abs(h - g)))
        worst = max(worst, diff)
        us_h = 1e6 * hw["seconds"][kind] / args.n
        us_g = 1e6 * gb["seconds"][kind] / args.n
        print(f"  {kind:5s} {us_h:9.1f} | {us_g:9.1f}   speed-up x{us_g / us_h:5.1f}   "
              f"max |diff| (estimate, CI, p) = {diff:.3g}")
    print(f"overall max |diff| = {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
