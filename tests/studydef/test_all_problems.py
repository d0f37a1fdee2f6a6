"""One run lists every problem: cross-field checks run on the sections that loaded validly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hwtrial.studydef import StudyDefinitionError, load_study_data, load_study_text, validate_paths

from .conftest import EXAMPLES, MINIMAL, line_of

THREE_MISTAKES = """\
key: three
title: Three mistakes
locales: [en, es]
consent:
  version: "1"
  text: {en: "I agree."}
arms:
  - key: control
  - key: treated
    features:
      reminders:
        policy: fixed
        times: ["25:00"]
homework:
  schedule:
    - {template: diary, start_day: 0, time: "18:00", due_after_hours: 24}
allocation:
  method: simple
"""


def test_schema_error_and_two_cross_field_errors_are_all_reported(tmp_path):
    path = tmp_path / "three.yaml"
    path.write_text(THREE_MISTAKES)
    found = validate_paths([path])
    assert [(p.path, p.message, p.line) for p in found] == [
        ("consent.text", "no consent text for locale 'es'", line_of(THREE_MISTAKES, "text:")),
        ("arms[1].features.reminders.times[0]",
         "'25:00' is not a time of day (use HH:MM, 00:00-23:59)", line_of(THREE_MISTAKES, "25:00")),
        ("homework.schedule[0].template", "unknown template 'diary'",
         line_of(THREE_MISTAKES, "template: diary")),
    ]


def test_checks_that_read_a_rejected_section_are_left_out():
    # block_sizes [3] is no multiple of the ratio sum of valid arms, but arms are rejected,
    # so the ratio sum is unknown and the block check must not guess.
    text = THREE_MISTAKES.replace("  method: simple", "  method: permuted_blocks\n  block_sizes: [3]")
    paths = [p.path for p in _problems(text)]
    assert "arms[1].features.reminders.times[0]" in paths
    assert not any(p.startswith("allocation") for p in paths)


def test_a_missing_required_section_does_not_hide_other_problems():
    text = THREE_MISTAKES.replace("allocation:\n  method: simple\n", "")
    found = {(p.path, p.message) for p in _problems(text)}
    assert found == {
        ("allocation", "Missing data for required field."),
        ("arms[1].features.reminders.times[0]",
         "'25:00' is not a time of day (use HH:MM, 00:00-23:59)"),
        ("consent.text", "no consent text for locale 'es'"),
        ("homework.schedule[0].template", "unknown template 'diary'"),
    }


def test_a_derivation_problem_does_not_stop_the_other_checks():
    text = MINIMAL.replace("  text: {en: \"I agree.\"}", "  text: {en: \"I agree.\", fr: \"Oui\"}")
    text = text.replace("arms:\n  - key: control\n  - key: treated\n    features:\n      reminders:"
                        "\n        policy: fixed\n        times: [\"18:00\"]\n", "")
    found = {(p.path, p.message) for p in _problems(text)}
    assert found == {("arms", "give either arms or factors"),
                     ("consent.text.fr", "'fr' is not in locales")}


def test_the_same_problem_is_listed_once():
    text = MINIMAL.replace("title: Minimal study", "title: A\ntitle: A")
    assert [p.path for p in _problems(text)] == ["title"]


@pytest.mark.parametrize("junk", [12345, "text", [1], {"zz_unknown": 1}, None])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_any_one_broken_section_is_reported_without_crashing(example: Path, junk):
    data = yaml.safe_load(example.read_text())
    for key in data:
        broken = {**data, key: junk}
        try:
            load_study_data(broken, "api")
        except StudyDefinitionError as exc:
            assert exc.problems
        # a value the section accepts (None for an optional one) may load: that is fine too


def _problems(text: str):
    with pytest.raises(StudyDefinitionError) as info:
        load_study_text(text, "x.yaml")
    return info.value.problems


def test_misspelt_key_suggests_the_known_field():
    text = MINIMAL.replace("  - key: treated\n    features:", "  - key: treated\n    featurs:")
    (problem,) = [p for p in _problems(text) if p.path == "arms[1].featurs"]
    assert str(problem) == (f"x.yaml: arms[1].featurs: unknown field; did you mean 'features'? "
                            f"(line {line_of(text, 'featurs')})")


@pytest.mark.parametrize(("written", "path", "suggested"), [
    ("alocation", "alocation", "allocation"),
    ("        polcy: fixed", "arms[1].features.reminders.polcy", "policy"),
    ("  methd: simple", "allocation.methd", "method"),
])
def test_misspelt_keys_at_several_depths(written, path, suggested):
    original = written.replace("alocation", "allocation").replace("polcy", "policy").replace(
        "methd", "method")
    text = MINIMAL.replace(original, written)
    messages = {p.path: p.message for p in _problems(text)}
    assert messages[path] == f"unknown field; did you mean {suggested!r}?"


def test_unknown_key_with_no_near_name_is_just_unknown():
    text = MINIMAL.replace("  method: simple", "  method: simple\n  colour: red")
    assert [(p.path, p.message) for p in _problems(text)] == [("allocation.colour", "unknown field")]


def test_an_allocation_check_that_does_not_need_arms_still_runs():
    text = THREE_MISTAKES.replace("  method: simple", "  method: simple\n  stratify_by: [site]")
    found = {(p.path, p.message) for p in _problems(text)}
    assert ("allocation.stratify_by[0]", "'site' is not in stratification") in found
    assert ("arms[1].features.reminders.times[0]",
            "'25:00' is not a time of day (use HH:MM, 00:00-23:59)") in found
