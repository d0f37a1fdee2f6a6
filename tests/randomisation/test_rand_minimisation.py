"""Minimisation: known answers, the random element, variants and a reference implementation."""

import pytest
from smallerize import Arm, Factor, Minimizer

from hwtrial.randomisation import MinimisationCounts, MissingStratumFactor, minimise


def _counts(arms, history):
    counts = MinimisationCounts.empty(arms)
    for levels, arm in history:
        counts = counts.add(levels, arm)
    return counts


def test_known_answer_1_range_three_arms_gives_c():
    # Worked example: history (F,type2)->A, (M,type2)->B. Adding the new (F,type2) to
    # A: sex (2,0,0) range 2 + type (2,1,0) range 2 = 4; B: 1 + 2 = 3; C: 1 + 0 = 1.
    arms = ["A", "B", "C"]
    counts = _counts(arms, [({"sex": "F", "type": "2"}, "A"), ({"sex": "M", "type": "2"}, "B")])
    alloc = minimise(arms, [1, 1, 1], {"sex": "F", "type": "2"}, counts, imbalance="range", p=1.0, rng=0)
    assert alloc.arm == "C" and alloc.probability == 1.0
    assert dict(alloc.diagnostics["imbalance"]) == {"A": 4.0, "B": 3.0, "C": 1.0}


def test_known_answer_2_unequal_ratio_3_1_1_gives_control():
    # Adjusted counts at X before: control 1/3, low 1, high 1. Adding to control gives
    # (2/3, 1, 1), range 1/3; adding to low or high gives range 5/3.
    arms = ["control", "low", "high"]
    history = [({"f": lv}, arm) for lv in ("X", "Y") for arm in arms]
    alloc = minimise(arms, [3, 1, 1], {"f": "X"}, _counts(arms, history), imbalance="range", p=1.0, rng=0)
    assert alloc.arm == "control"
    assert alloc.diagnostics["imbalance"]["control"] == pytest.approx(1 / 3)
    assert alloc.diagnostics["imbalance"]["low"] == pytest.approx(5 / 3)


@pytest.mark.parametrize(("weights", "expected"), [({"c1": 1, "c2": 0}, "A"), ({"c1": 0, "c2": 1}, "B")])
def test_known_answer_3_factor_weights_decide(weights, expected):
    history = [({"c1": "Y", "c2": "U"}, "A")] * 2 + [({"c1": "X", "c2": "V"}, "B")] * 2
    counts = _counts(["A", "B"], history)
    alloc = minimise(["A", "B"], [1, 1], {"c1": "X", "c2": "U"}, counts, weights=weights, p=1.0, rng=0)
    assert alloc.arm == expected


def _variant_state():
    # f1: 5 A, 0 B at the new participant's level; f2 and f3: 1 B, 0 A.
    history = [({"f1": "a"}, "A")] * 5 + [({"f2": "b"}, "B"), ({"f3": "c"}, "B")]
    return _counts(["A", "B"], history), {"f1": "a", "f2": "b", "f3": "c"}


def test_known_answer_4_pocock_simon_and_taves_disagree():
    counts, new = _variant_state()
    ps = minimise(["A", "B"], [1, 1], new, counts, variant="pocock_simon", imbalance="range", p=1.0, rng=0)
    tv = minimise(["A", "B"], [1, 1], new, counts, variant="taves", p=1.0, rng=0)
    assert (ps.arm, dict(ps.diagnostics["imbalance"])) == ("A", {"A": 6.0, "B": 8.0})
    assert (tv.arm, dict(tv.diagnostics["imbalance"])) == ("B", {"A": 5.0, "B": 2.0})


def test_random_element_probabilities_reported():
    counts, new = _variant_state()
    taken = minimise(["A", "B"], [1, 1], new, counts, p=0.8, rng=0)
    # One uniform decides; across seeds both outcomes occur with the stated probability.
    outcomes = {minimise(["A", "B"], [1, 1], new, counts, p=0.8, rng=s).arm for s in range(40)}
    assert outcomes == {"A", "B"}
    by_arm = {a.arm: a for a in (minimise(["A", "B"], [1, 1], new, counts, p=0.8, rng=s) for s in range(40))}
    assert by_arm["A"].probability == pytest.approx(0.8) and by_arm["A"].diagnostics["took_minimising"]
    assert by_arm["B"].probability == pytest.approx(0.2) and not by_arm["B"].diagnostics["took_minimising"]
    assert taken.diagnostics["minimising_arms"] == ("A",)


def test_ties_split_by_ratio_and_p_applies_to_the_rest():
    # Taves on an empty state: every arm scores 0, so the ratio shares apply whatever p is.
    arms, ratios = ["A", "B", "C"], [2, 1, 1]
    empty = MinimisationCounts.empty(arms)
    seen = set()
    for s in range(60):
        a = minimise(arms, ratios, {"f": "x"}, empty, variant="taves", p=0.9, rng=s)
        seen.add(a.arm)
        assert a.probability == pytest.approx({"A": 0.5, "B": 0.25, "C": 0.25}[a.arm])
    assert seen == {"A", "B", "C"}
    # One C at level x: A and B tie at 0 and share p by ratio 2:1; C gets 1 - p.
    one_c = empty.add({"f": "x"}, "C")
    for s in range(30):
        a = minimise(arms, ratios, {"f": "x"}, one_c, variant="taves", p=0.9, rng=s)
        assert a.probability == pytest.approx({"A": 0.6, "B": 0.3, "C": 0.1}[a.arm])


def test_pocock_simon_empty_state_prefers_the_larger_ratio_arm():
    # Adding one to an arm moves its adjusted count by 1/ratio, so with ratios 2:1:1 the
    # range is 1/2 after A but 1 after B or C: A is the only minimising arm.
    arms = ["A", "B", "C"]
    a = minimise(arms, [2, 1, 1], {"f": "x"}, MinimisationCounts.empty(arms), p=0.9, rng=0)
    assert a.diagnostics["minimising_arms"] == ("A",)
    assert dict(a.diagnostics["imbalance"]) == {"A": 0.5, "B": 1.0, "C": 1.0}


@pytest.mark.parametrize(("ours", "theirs"), [("range", "range"), ("variance", "variance"), ("sd", "standard_deviation")])
def test_imbalance_totals_match_smallerize(ours, theirs, capsys):
    # smallerize (a Pocock-Simon reference implementation) scores the same state. Equal
    # ratios only: for unequal ones smallerize adds 1, not 1/ratio, to the adjusted count
    # of the hypothetical arm, which departs from the unequal-allocation literature.
    arms, ratios = ["A", "B", "C"], [1, 1, 1]
    factors = {"sex": ["F", "M"], "age": ["young", "mid", "old"], "site": ["s1", "s2"]}
    history = [
        ({"sex": "F", "age": "young", "site": "s1"}, "A"), ({"sex": "M", "age": "old", "site": "s1"}, "A"),
        ({"sex": "F", "age": "mid", "site": "s2"}, "B"), ({"sex": "F", "age": "young", "site": "s2"}, "C"),
        ({"sex": "M", "age": "young", "site": "s1"}, "A"), ({"sex": "F", "age": "old", "site": "s1"}, "B"),
    ]
    ref = Minimizer(
        [Factor(f, lv) for f, lv in factors.items()], [Arm(a, r) for a, r in zip(arms, ratios, strict=True)],
        d_imbalance_method=theirs, probability_method="biased_coin", preferred_p=0.9,
    )
    for levels, arm in history:
        ref.add_existing_participant(levels, arm)
    new = {"sex": "F", "age": "young", "site": "s1"}
    expected = ref.get_new_total_imbalances(new)
    capsys.readouterr()  # smallerize prints notes about its options
    got = minimise(arms, ratios, new, _counts(arms, history), imbalance=ours, p=1.0, rng=0)
    assert dict(got.diagnostics["imbalance"]) == pytest.approx(expected, rel=1e-12)


def test_counts_accepts_plain_nested_dict_and_rejects_mismatch():
    nested = {"f": {"x": {"A": 2, "B": 0}}}
    assert minimise(["A", "B"], [1, 1], {"f": "x"}, nested, rng=0).arm == "B"
    with pytest.raises(ValueError, match="counts"):
        minimise(["A", "B"], [1, 1], {"f": "x"}, MinimisationCounts.empty(["B", "A"]), rng=0)


def test_bad_options_are_named():
    c = MinimisationCounts.empty(["A", "B"])
    with pytest.raises(ValueError, match="imbalance"):
        minimise(["A", "B"], [1, 1], {"f": "x"}, c, imbalance="mad")
    with pytest.raises(ValueError, match="variant"):
        minimise(["A", "B"], [1, 1], {"f": "x"}, c, variant="efron")
    with pytest.raises(ValueError, match="p must"):
        minimise(["A", "B"], [1, 1], {"f": "x"}, c, p=0.0)
    with pytest.raises(ValueError, match="weights"):
        minimise(["A", "B"], [1, 1], {"f": "x"}, c, weights={"f": -1})
    with pytest.raises(MissingStratumFactor) as err:
        minimise(["A", "B"], [1, 1], {"f": "x"}, c, weights={"f": 1, "g": 1})
    assert err.value.factor == "g"
    with pytest.raises(MissingStratumFactor):
        minimise(["A", "B"], [1, 1], {"f": " "}, c)
