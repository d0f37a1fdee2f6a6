"""Factorial designs, micro-randomisation, clusters, strata and counts storage."""

import itertools
from collections import Counter

import numpy as np
import pytest

from hwtrial.randomisation import (
    Allocation,
    MinimisationCounts,
    MissingStratumFactor,
    cluster_allocation,
    decide,
    factorial_cells,
    factorial_design,
    minimise,
    new_block,
    probability_at,
    simple,
    stratum_key,
)

THREE = {"reminders": ["off", "on"], "self_review": ["off", "on"], "framing": ["individual", "community"]}


def test_full_factorial_cells_keys_and_effect_codes():
    cells = factorial_cells(THREE)
    assert len(cells) == 8 and len({c.key for c in cells}) == 8
    first = cells[0]
    assert first.key == "reminders=off|self_review=off|framing=individual"
    assert first.codes == {"reminders": -1, "self_review": -1, "framing": -1}
    # Every factor is +1 in half the cells and the codes are orthogonal.
    codes = np.array([[c.codes[f] for f in THREE] for c in cells])
    assert (codes.sum(axis=0) == 0).all() and (codes.T @ codes == 8 * np.eye(3)).all()
    assert all(c.levels[f] == THREE[f][(c.codes[f] + 1) // 2] for c in cells for f in THREE)


def test_half_fraction_c_equals_ab_records_aliasing():
    design = factorial_design(THREE, {"C": "AB"})
    assert len(design.cells) == 4
    assert all(c.codes["framing"] == c.codes["reminders"] * c.codes["self_review"] for c in design.cells)
    assert design.defining_relation == ("ABC",)
    assert design.aliases["C"] == ("AB",) and design.aliases["A"] == ("BC",) and design.aliases["B"] == ("AC",)
    assert design.resolution == 3
    assert design.named("AB") == "reminders:self_review"
    # The same generator given by names builds the same cells.
    by_name = factorial_design(THREE, {"framing": ["reminders", "self_review"]})
    assert [c.key for c in by_name.cells] == [c.key for c in design.cells]


def test_quarter_fraction_defining_relation():
    factors = {n: ["lo", "hi"] for n in "abcde"}
    design = factorial_design(factors, {"D": "AB", "E": "AC"})
    assert len(design.cells) == 8
    assert design.defining_relation == ("ABD", "ACE", "BCDE")
    assert design.aliases["A"] == ("BD", "CE", "ABCDE")


def test_factorial_bad_options():
    with pytest.raises(ValueError, match="factors"):
        factorial_cells({"a": ["x", "y", "z"]})
    with pytest.raises(ValueError, match="fractional"):
        factorial_design(THREE, {"C": "AZ"})
    with pytest.raises(ValueError, match="fractional"):
        factorial_design(THREE, {"C": "A"})


def test_factorial_cells_balance_by_blocks_and_by_minimisation():
    keys = [c.key for c in factorial_cells(THREE)]
    rng = np.random.default_rng(8)
    for _ in range(50):
        block = new_block(keys, [1] * 8, [8, 16], rng=rng)
        assert set(Counter(block.sequence).values()) == {block.size // 8}
    counts = MinimisationCounts.empty(keys)
    arms = []
    for i in range(800):
        levels = {"site": "s" + str(i % 3)}
        a = minimise(keys, [1] * 8, levels, counts, p=1.0, rng=rng)
        counts, arms = counts.add(levels, a.arm), arms + [a.arm]
    # With p = 1 and one factor, every site holds the 8 cells within one of each other.
    for site in counts["site"].values():
        assert max(site.values()) - min(site.values()) <= 1
    assert len(Counter(arms)) == 8


def test_decide_unavailable_draws_nothing():
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    d = decide(0.6, available=False, rng=rng)
    assert (d.treated, d.probability, d.available) == (None, 0.6, False)
    assert rng.bit_generator.state == before


def test_decide_treats_at_the_stated_probability():
    rng = np.random.default_rng(4)
    treated = sum(decide(0.3, True, rng=rng).treated for _ in range(10_000))
    assert abs(treated - 3000) <= 4 * (10_000 * 0.3 * 0.7) ** 0.5
    assert decide(0.0, True, rng=1).treated is False and decide(1.0, True, rng=1).treated is True
    with pytest.raises(ValueError, match="probability"):
        decide(1.2, True)


def test_probability_at_constant_and_piecewise():
    assert probability_at(0.5, 99) == 0.5
    schedule = [(0, 0.6), (14, 0.4), (28, 0.25)]
    assert [probability_at(schedule, t) for t in (0, 13, 14, 27.5, 28, 400)] == [0.6, 0.6, 0.4, 0.4, 0.25, 0.25]
    as_dict = {"pieces": [{"from": 14, "probability": 0.4}, {"from": 0, "probability": 0.6}]}
    assert probability_at(as_dict, 20) == 0.4
    # The study file's shape (studydef normalises a constant to one step).
    study_file = [{"from_day": 0, "probability": 0.6}, {"from_day": 14, "probability": 0.4}]
    assert [probability_at(study_file, d) for d in (0, 13, 14)] == [0.6, 0.6, 0.4]
    with pytest.raises(ValueError, match="schedule pieces"):
        probability_at([{"day": 0, "probability": 0.5}], 1)
    with pytest.raises(ValueError, match="start at 0"):
        probability_at([(1, 0.5)], 3)
    with pytest.raises(ValueError, match="probability"):
        probability_at([(0, 1.5)], 3)


def test_cluster_members_inherit_and_new_cluster_allocates_once():
    calls = []

    def allocate():
        calls.append(1)
        return simple(["A", "B"], [1, 1], rng=len(calls))

    existing = {"t1": "B"}
    member = cluster_allocation(existing, "t1", allocate)
    assert (member.arm, member.probability, member.method) == ("B", 1.0, "cluster_inherited")
    assert calls == []
    first = cluster_allocation(existing, "t2", allocate)
    assert calls == [1] and first.method == "simple" and first.probability == 0.5
    assert first.diagnostics["new_cluster"] and first.diagnostics["cluster_id"] == "t2"
    with pytest.raises(ValueError, match="cluster_id"):
        cluster_allocation(existing, " ", allocate)


def test_stratum_key_and_missing_factor():
    assert stratum_key(["site", "severity"], {"severity": "high", "site": "leeds"}) == "site=leeds|severity=high"
    assert stratum_key([], {"site": "x"}) == "*"
    for bad in ({"site": "leeds"}, {"site": "leeds", "severity": ""}, {"site": "leeds", "severity": None}):
        with pytest.raises(MissingStratumFactor) as err:
            stratum_key(["site", "severity"], bad)
        assert err.value.factor == "severity" and isinstance(err.value, ValueError)
    with pytest.raises(ValueError, match="must not contain"):
        stratum_key(["site"], {"site": "a|b"})


def test_counts_roundtrip_add_is_pure_and_increments():
    arms = ["A", "B", "C"]
    c0 = MinimisationCounts.empty(arms)
    c1 = c0.add({"site": "x", "sev": "hi"}, "B")
    assert c0.table == {} and c1["site"] == {"x": {"A": 0, "B": 1, "C": 0}}
    assert MinimisationCounts.from_json(c1.to_json()) == c1
    assert MinimisationCounts.increments({"site": "x"}, "B") == [("site", "x", "B")]
    with pytest.raises(ValueError, match="arm"):
        c1.add({"site": "x"}, "Z")


def test_allocation_is_frozen_and_serialisable():
    a = Allocation("A", 0.5, "simple", {"imbalance": {"A": 1.0}, "minimising_arms": ["A"]})
    with pytest.raises(AttributeError):
        a.arm = "B"
    with pytest.raises(TypeError):
        a.diagnostics["imbalance"]["A"] = 2.0
    assert a.to_dict() == {"arm": "A", "probability": 0.5, "method": "simple",
                           "diagnostics": {"imbalance": {"A": 1.0}, "minimising_arms": ["A"]}}
    assert len(set(itertools.repeat(a, 3))) == 1
