"""AllocationSpec validation, the step engine and replay from the stored seed."""

import numpy as np
import pytest

from hwtrial.randomisation import AllocationSpec, AllocationState, mismatches, replay, step

ARMS = [{"key": "A", "ratio": 2}, {"key": "B", "ratio": 1}, {"key": "C", "ratio": 1}]
MINIM = {"factors": ["site", "severity"], "weights": {"site": 1, "severity": 2},
         "imbalance": "range", "variant": "pocock_simon", "p": 0.8}
FACTORIAL = {"factors": {"reminders": ["off", "on"], "self_review": ["off", "on"],
                         "framing": ["individual", "community"]}}

SPECS = {
    "simple": {"method": "simple", "arms": ARMS},
    "permuted_blocks": {"method": "permuted_blocks", "arms": ARMS, "block_sizes": [4, 8, 12],
                        "strata": ["site", "severity"]},
    "minimisation": {"method": "minimisation", "arms": ARMS, "minimisation": MINIM},
    "taves": {"method": "minimisation", "arms": ARMS, "minimisation": {**MINIM, "variant": "taves"}},
    "factorial_blocks": {"method": "factorial", "block_sizes": [8, 16], "strata": ["site"],
                         "factorial": {**FACTORIAL, "method": "blocks"}},
    "fractional_minimisation": {"method": "factorial", "minimisation": MINIM,
                                "factorial": {**FACTORIAL, "fractional": {"C": "AB"}, "method": "minimisation"}},
    "cluster_blocks": {"method": "cluster", "arms": ARMS, "block_sizes": [4, 8], "strata": ["site"],
                       "cluster": {"unit": "therapist", "method": "permuted_blocks", "covariates": ["site"]}},
    "cluster_minimisation": {"method": "cluster", "arms": ARMS,
                             "cluster": {"unit": "therapist", "method": "minimisation", "covariates": ["site"]}},
}


def _participants(n, seed=11):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield {"site": f"s{rng.integers(3)}", "severity": ("mild", "severe")[rng.integers(2)],
               "therapist": f"t{rng.integers(40)}"}


def _simulate(spec, seed, n=500):
    state, allocs, log = AllocationState(), [], []
    for values in _participants(n):
        s = step(spec, seed, state, values)
        state = s.state
        allocs.append(s.allocation)
        log.append(s.log_entry)
    return allocs, log, state


@pytest.mark.parametrize("name", sorted(SPECS))
def test_replay_of_500_allocations_is_identical(name):
    spec = AllocationSpec.from_dict(SPECS[name])
    seed = 0x5EED_2024_0601_ABCD_EF01_2345_6789
    allocs, log, state = _simulate(spec, seed)
    assert state.sequence_no == 500
    assert replay(spec, log, seed) == allocs
    assert mismatches(spec, log, seed) == []
    # Reversed storage order replays the same (entries are ordered by sequence_no).
    assert replay(spec, log[::-1], seed) == allocs
    # A different seed reproduces nothing like the log, so the check has teeth. For blocks
    # the stored positions may not even exist in the other seed's (shorter) blocks.
    if spec.method != "cluster":
        try:
            wrong = len(mismatches(spec, log, seed + 1))
        except ValueError as err:
            assert "position" in str(err)
        else:
            assert wrong > 100


def test_replay_detects_a_tampered_minimisation_entry():
    spec = AllocationSpec.from_dict(SPECS["minimisation"])
    _, log, _ = _simulate(spec, 7)
    tampered = [dict(e) for e in log]
    tampered[10]["arm"] = "B" if log[10]["arm"] != "B" else "C"
    assert mismatches(spec, tampered, 7) == [10]


def test_cluster_members_share_one_arm_and_clusters_are_allocated_once():
    spec = AllocationSpec.from_dict(SPECS["cluster_blocks"])
    allocs, log, state = _simulate(spec, 3)
    by_cluster = {}
    for a, e in zip(allocs, log, strict=True):
        by_cluster.setdefault(e["cluster_id"], set()).add(a.arm)
    assert all(len(arms) == 1 for arms in by_cluster.values())
    new = [a for a in allocs if a.method != "cluster_inherited"]
    assert len(new) == len(state.clusters) == len(by_cluster)


def test_from_dict_builds_the_documented_shape():
    spec = AllocationSpec.from_dict(SPECS["minimisation"])
    assert spec.arms == ("A", "B", "C") and spec.ratios == (2, 1, 1)
    assert spec.minimisation.weights == {"site": 1.0, "severity": 2.0} and spec.minimisation.p == 0.8
    frac = AllocationSpec.from_dict(SPECS["fractional_minimisation"])
    assert len(frac.arms) == 4 and frac.factorial.aliases["A"] == ("BC",) and frac.rule == "minimisation"
    assert AllocationSpec.from_dict(SPECS["cluster_minimisation"]).minimisation.factors == ("site",)


@pytest.mark.parametrize(("change", "option"), [
    ({"method": "urn"}, "method"),
    ({"arms": [{"key": "A", "ratio": 0}, {"key": "B"}]}, "ratios"),
    ({"arms": [{"ratio": 1}]}, "key"),
    ({"method": "permuted_blocks", "block_sizes": [6]}, "block_sizes"),
    ({"method": "permuted_blocks"}, "block_sizes"),
    ({"minimisation": {**MINIM, "imbalance": "mad"}}, "minimisation.imbalance"),
    ({"minimisation": {**MINIM, "variant": "efron"}}, "minimisation.variant"),
    ({"minimisation": {**MINIM, "p": 1.5}}, "minimisation.p"),
    ({"minimisation": {**MINIM, "weights": {"age": 1}}}, "minimisation.weights"),
    ({"minimisation": {**MINIM, "factors": []}}, "minimisation.factors"),
    ({"strata": "site"}, "strata"),
    ({"blocksizes": [4]}, "blocksizes"),
    ({"method": "cluster"}, "cluster.unit"),
    ({"method": "factorial", "arms": None, "factorial": {**FACTORIAL, "method": "urn"}}, "factorial.method"),
])
def test_from_dict_names_the_bad_option(change, option):
    d = {**SPECS["minimisation"], **change}
    with pytest.raises(ValueError, match=option.replace(".", r"\.")):
        AllocationSpec.from_dict(d)
