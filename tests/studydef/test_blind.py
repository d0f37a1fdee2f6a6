"""The blinded study definition keeps the plan and drops whatever tells arms apart."""

from __future__ import annotations

import pytest

from hwtrial.studydef import load_study_file
from hwtrial.studydef.blind import blind_definition
from tests.blinding_leaks import leaks_in_json, revealing_strings
from tests.conftest import STUDIES

EXAMPLES = sorted(p.stem for p in STUDIES.glob("*.yaml"))


def definition(name):
    return load_study_file(str(STUDIES / f"{name}.yaml")).data


def codes(data):
    return {arm["key"]: arm["code"] for arm in data["arms"]}


def test_all_four_examples_are_covered():
    assert EXAMPLES == ["factorial-screening", "mrt-reminders", "reminder-rct", "therapist-cluster"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_no_arm_key_label_or_differing_feature_survives(name):
    data = definition(name)
    revealing = revealing_strings(data)
    assert leaks_in_json(data, revealing), "the scanner must see the leaks of the unblinded definition"
    assert leaks_in_json(blind_definition(data, codes(data)), revealing) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_plan_strata_and_schedule_are_kept(name):
    data = definition(name)
    blinded = blind_definition(data, codes(data))
    for key in ("analysis", "stratification", "clusters", "allocation", "questionnaires", "consent"):
        assert blinded[key] == data[key]
    assert blinded["homework"]["schedule"] == data["homework"]["schedule"]
    assert [t["fields"] for t in blinded["homework"]["templates"]] == \
        [t["fields"] for t in data["homework"]["templates"]]
    assert blinded["arms"] == [{"code": a["code"], "ratio": a["ratio"]} for a in data["arms"]]
    assert "features" not in str(blinded["arms"])


def test_factors_become_letters_and_level_numbers_as_in_the_blinded_results():
    data = definition("factorial-screening")
    blinded = blind_definition(data, codes(data))
    assert blinded["factors"] == [{"key": k, "levels": [{"key": "1"}, {"key": "2"}]} for k in "ABC"]
    assert [a["code"] for a in blinded["arms"]] == [f"C{i}" for i in range(1, 9)]


def test_texts_of_framings_that_differ_between_arms_are_removed():
    data = definition("factorial-screening")  # framings self_improvement and community
    texts = blind_definition(data, codes(data))["homework"]["templates"][0]["texts"]
    assert {variant for variants in texts.values() for variant in variants} == {"default"}
    rct = definition("reminder-rct")  # every arm in the default framing: nothing to hide
    assert blind_definition(rct, codes(rct))["homework"] == rct["homework"]


def test_the_input_is_not_changed_and_codes_are_the_callers():
    data = definition("reminder-rct")
    before = repr(data)
    blinded = blind_definition(data, {"control": "X", "reminders": "Y"})
    assert repr(data) == before
    assert [a["code"] for a in blinded["arms"]] == ["X", "Y"]
