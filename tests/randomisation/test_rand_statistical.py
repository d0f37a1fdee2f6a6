"""Statistical behaviour of minimisation over 10,000 seeded allocations.

Bounds are checked on one fixed seed per configuration, so the tests are deterministic;
the tolerances (4 binomial SDs) are wide enough to hold for other seeds too.
"""

import math
from collections import Counter

import numpy as np
import pytest

from hwtrial.randomisation import MinimisationCounts, minimise, simple

FACTORS = {"site": ["a", "b", "c"], "severity": ["mild", "severe"], "age": ["<30", "30-50", ">50"]}
N = 10_000
#: Largest ratio-adjusted marginal deviation |n(level, arm) - n(level) * ratio / sum| allowed
#: at any time during the run (checked every 50 allocations), for any factor level and arm.
#: Observed worst over seeds 0-4 with p = 0.8: 5.5 (1:1 range), 4.75 (2:1:1), 7.2 (3:1:1 sd);
#: simple randomisation reaches 44-85 on the same run.
MARGINAL_BOUND = 10.0


def _worst_marginal(counts, ratios):
    total = sum(ratios)
    worst = 0.0
    for levels in counts.table.values():
        for row in levels.values():
            n = sum(row)
            worst = max(worst, max(abs(x - n * r / total) for x, r in zip(row, ratios, strict=True)))
    return worst


def _run(arms, ratios, rule, seed=2024):
    rng = np.random.default_rng(seed)
    counts, allocs, worst = MinimisationCounts.empty(arms), [], 0.0
    for i in range(N):
        levels = {f: lv[rng.integers(len(lv))] for f, lv in FACTORS.items()}
        alloc = rule(arms, ratios, levels, counts, rng)
        counts = counts.add(levels, alloc.arm)
        allocs.append(alloc)
        if i % 50 == 0:
            worst = max(worst, _worst_marginal(counts, ratios))
    return allocs, max(worst, _worst_marginal(counts, ratios))


def _within(count, n, prob, sds=4.0):
    return abs(count - n * prob) <= sds * math.sqrt(n * prob * (1 - prob))


CONFIGS = [
    (["A", "B"], [1, 1], "pocock_simon", "range"),
    (["A", "B", "C"], [2, 1, 1], "pocock_simon", "variance"),
    (["A", "B", "C"], [3, 1, 1], "pocock_simon", "sd"),
    (["A", "B", "C"], [2, 1, 1], "taves", "range"),
]


@pytest.mark.parametrize(("arms", "ratios", "variant", "imbalance"), CONFIGS)
def test_minimisation_ratios_random_element_and_marginal_balance(arms, ratios, variant, imbalance):
    p = 0.8

    def rule(a, r, levels, counts, rng):
        return minimise(a, r, levels, counts, variant=variant, imbalance=imbalance, p=p, rng=rng)

    allocs, worst = _run(arms, ratios, rule)
    shares = Counter(a.arm for a in allocs)
    for arm, ratio in zip(arms, ratios, strict=True):
        assert _within(shares[arm], N, ratio / sum(ratios)), shares
    # Only decisions with at least one non-minimising arm can go against the minimum.
    open_ = [a for a in allocs if len(a.diagnostics["minimising_arms"]) < len(arms)]
    against = sum(not a.diagnostics["took_minimising"] for a in open_)
    assert len(open_) > N / 2
    assert _within(against, len(open_), 1 - p), (against, len(open_))
    assert worst <= MARGINAL_BOUND


def test_marginal_bound_is_one_simple_randomisation_breaks():
    # The same check on simple randomisation fails by a wide margin, so the bound has teeth.
    def rule(a, r, levels, counts, rng):
        return simple(a, r, rng=rng)

    _, worst = _run(["A", "B"], [1, 1], rule)
    assert worst > 3 * MARGINAL_BOUND
