"""SMART stage-2 re-randomisation."""

import math
from collections import Counter

import numpy as np
import pytest

from hwtrial.randomisation import smart_stage2, stage2_stratum

DESIGN = {
    "A": {"responder": ["continue"], "non_responder": {"augment": 2, "switch": 1}},
    "B": {"responder": ["continue"], "non_responder": ["augment", "switch"]},
}


def test_responders_continue_without_a_draw():
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    a = smart_stage2(DESIGN, "A", "responder", rng=rng)
    assert (a.arm, a.probability, a.method) == ("continue", 1.0, "smart_stage2_fixed")
    assert rng.bit_generator.state == before


def test_non_responders_rerandomised_in_ratio_with_probability_recorded():
    rng = np.random.default_rng(2)
    allocs = [smart_stage2(DESIGN, "A", "non_responder", rng=rng) for _ in range(10_000)]
    counts = Counter(a.arm for a in allocs)
    assert abs(counts["augment"] - 20_000 / 3) <= 4 * math.sqrt(10_000 * 2 / 9)
    assert {a.arm: a.probability for a in allocs} == pytest.approx({"augment": 2 / 3, "switch": 1 / 3})
    assert allocs[0].diagnostics["stage1_arm"] == "A"


def test_bad_cells_are_named():
    with pytest.raises(ValueError, match="stage1_arm"):
        smart_stage2(DESIGN, "C", "responder")
    with pytest.raises(ValueError, match="response"):
        smart_stage2(DESIGN, "B", "partial")
    assert stage2_stratum("A", "non_responder") == "stage1=A|response=non_responder"
