"""Every example study validates, round-trips, and exercises what it claims to."""

from __future__ import annotations

import json

import pytest

from hwtrial.studydef import load_study_data, load_study_file, validate_paths

from .conftest import EXAMPLES, STUDIES

NAMES = [p.name for p in EXAMPLES]


def test_the_four_examples_exist():
    assert {"reminder-rct.yaml", "factorial-screening.yaml", "therapist-cluster.yaml",
            "mrt-reminders.yaml"} <= set(NAMES)


def test_validate_paths_finds_no_problems_in_examples():
    assert validate_paths(EXAMPLES) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_round_trips_through_json(path):
    defn = load_study_file(path)
    stored = json.loads(json.dumps(defn.data))  # what the database keeps
    again = load_study_data(stored, "db")
    assert again.data == defn.data
    assert again == defn


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_as_json_text_gives_the_same_definition(path):
    from hwtrial.studydef import load_study_text

    defn = load_study_file(path)
    assert load_study_text(json.dumps(defn.data, indent="\t")).data == defn.data


def test_reminder_rct():
    defn = load_study_file(STUDIES / "reminder-rct.yaml")
    assert defn.locales == ["en", "es"] and defn.default_locale == "en"
    assert [a["code"] for a in defn.arms] == ["A", "B"]
    assert defn.features_for("control")["reminders"]["policy"] == "none"
    assert defn.features_for("reminders")["reminders"]["times"] == ["18:30"]
    assert defn.allocation["method"] == "permuted_blocks"
    assert defn.allocation["strata"] == ["site", "severity"]
    assert defn.strata == [{"key": "site", "levels": ["north", "south", "online"]},
                           {"key": "severity", "levels": ["mild", "moderate", "severe"]}]
    phq9 = defn.questionnaires["instruments"][0]
    assert len(phq9["items"]) == 9 and phq9["safety"] == {
        "item": "phq9_9", "threshold": 1, "notify": "coordinator"}
    assert defn.data["recruitment"]["prolific"]["pid_param"] == "PROLIFIC_PID"
    # The study overrides one English intro; Spanish keeps the builtin's.
    assert defn.template("thought_record")["texts"]["en"]["default"]["intro"].startswith("Use this")
    assert defn.template("thought_record")["texts"]["es"]["default"]["title"] == "Registro de pensamientos"


def test_factorial_screening_cells():
    defn = load_study_file(STUDIES / "factorial-screening.yaml")
    assert defn.is_factorial and len(defn.arms) == 8
    assert [a["code"] for a in defn.arms] == [f"C{i}" for i in range(1, 9)]
    assert "reminders=on|self_review=off|framing=community" in [a["key"] for a in defn.arms]
    on = defn.features_for("reminders=on|self_review=on|framing=community")
    assert on["reminders"]["policy"] == "fixed" and on["self_review"]["enabled"] is True
    assert on["framing"] == "community"
    off = defn.features_for("reminders=off|self_review=off|framing=self_improvement")
    assert off["reminders"]["policy"] == "none" and off["self_review"]["enabled"] is False
    assert defn.allocation["factorial"] == {
        "factors": {"reminders": ["off", "on"], "self_review": ["off", "on"],
                    "framing": ["self_improvement", "community"]},
        "fractional": None, "method": "minimisation"}
    assert defn.allocation["minimisation"]["factors"] == ["severity", "prior_therapy"]
    assert defn.allocation["strata"] == []  # minimising: no strata by default
    assert [f["key"] for f in defn.factors] == ["reminders", "self_review", "framing"]


def test_therapist_cluster():
    defn = load_study_file(STUDIES / "therapist-cluster.yaml")
    assert defn.allocation["cluster"] == {
        "unit": "therapist", "method": "permuted_blocks", "block_sizes": [2, 4],
        "covariates": ["service", "experience"]}
    assert defn.allocation["strata"] == ["service"]
    structured = defn.features_for("structured")
    assert structured["extra"] == {"homework_style": "structured", "show_suds_chart": True}
    assert structured["self_review"]["prompt"]["en"]  # builtin default prompt filled in


def test_mrt_reminders():
    defn = load_study_file(STUDIES / "mrt-reminders.yaml")
    (arm,) = defn.arms
    reminders = arm["features"]["reminders"]
    assert reminders["policy"] == "micro_randomised"
    assert reminders["decision_points"] == {"times": ["09:00", "13:00", "19:30"]}
    assert reminders["probability"] == [{"from_day": 0, "probability": 0.6},
                                        {"from_day": 14, "probability": 0.4}]
    assert reminders["availability"] == {"max_per_day": 2, "skip_if_completed_today": True}
    assert defn.analysis is None


def _allocation_spec():
    spec = pytest.importorskip("hwtrial.randomisation")
    return spec.AllocationSpec


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name != "mrt-reminders.yaml"],
                         ids=[n for n in NAMES if n != "mrt-reminders.yaml"])
def test_allocation_loads_in_the_randomisation_core(path):
    spec = _allocation_spec().from_dict(load_study_file(path).allocation)
    assert list(spec.arms) == [a["key"] for a in load_study_file(path).arms]


def test_single_arm_allocation_loads_in_the_randomisation_core():
    spec = _allocation_spec().from_dict(load_study_file(STUDIES / "mrt-reminders.yaml").allocation)
    assert spec.method == "simple" and len(spec.arms) == 1
