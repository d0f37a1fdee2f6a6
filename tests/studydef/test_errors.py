"""Each class of error names the right path and line."""

from __future__ import annotations

from textwrap import dedent

import pytest

from hwtrial.studydef import (
    Problem,
    StudyDefinitionError,
    load_study_data,
    load_study_text,
    problems_as_errors,
)

from .conftest import line_of

BAD_TIME = """\
key: x
title: Bad time
consent:
  version: "1"
  text: {en: "I agree."}
arms:
  - key: control
  - key: reminded
    features:
      reminders:
        policy: fixed
        times:
          - "25:00"
allocation:
  method: simple
"""


def only(problems) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_bad_time_of_day_reads_exactly_and_has_its_line(problems_of):
    problem = only(problems_of(BAD_TIME))
    assert str(problem).split(" (line")[0] == (
        "studies/x.yaml: arms[1].features.reminders.times[0]: '25:00' is not a time of day"
        " (use HH:MM, 00:00-23:59)")
    assert problem.line == line_of(BAD_TIME, "25:00") == 13
    assert str(problem).endswith("(line 13)")


def test_unquoted_time_is_still_a_time(problems_of, study_text):
    # YAML 1.1 would read 18:00 as the base-60 integer 1080; the loader keeps it a string.
    defn = load_study_text(study_text(replace={'["18:00"]': "[18:00]"}))
    assert defn.features_for("treated")["reminders"]["times"] == ["18:00"]
    problem = only(problems_of(study_text(replace={'["18:00"]': "[25:00]"})))
    assert problem.message.startswith("'25:00' is not a time of day")


def test_yaml_syntax_error_has_line_and_column(problems_of):
    text = "key: x\ntitle: t\nconsent: version: 1\n"
    problem = only(problems_of(text))
    assert problem.path == "<yaml>"
    assert (problem.line, problem.column) == (3, 17)
    assert str(problem) == (
        "studies/x.yaml: <yaml>: a ':' is not allowed here: quote a value that contains ': ' "
        '(e.g. "A: B"), or put a nested key on a new, indented line (line 3, column 17)')


def test_json_syntax_error_has_line_and_column(problems_of):
    problem = only(problems_of('{"key": "x",\n "title": }'))
    assert (problem.path, problem.line, problem.column) == ("<json>", 2, 11)


def test_unknown_key_is_rejected_at_its_line(problems_of, study_text):
    text = study_text(replace={"        policy: fixed": "        policy: fixed\n        colour: red"})
    problem = only(problems_of(text))
    assert problem.path == "arms[1].features.reminders.colour"
    assert problem.message == "unknown field"
    assert problem.line == line_of(text, "colour")


def test_missing_required_key_points_at_its_parent(problems_of, study_text):
    text = study_text(replace={'  version: "1"\n': ""})
    problem = only(problems_of(text))
    assert problem.path == "consent.version"
    assert problem.message == "Missing data for required field."
    assert problem.line == line_of(text, "consent:")


def test_duplicate_yaml_key_is_an_error(problems_of, study_text):
    text = study_text(replace={"title: Minimal study": "title: A\ntitle: B"})
    problem = only(problems_of(text))
    assert (problem.path, problem.message) == ("title", "duplicate key 'title'")
    assert problem.line == line_of(text, "title: B")


def test_duplicate_arm_keys(problems_of, study_text):
    text = study_text(replace={"- key: treated": "- key: control"})
    problem = only(problems_of(text))
    assert (problem.path, problem.message) == ("arms[1].key", "duplicate key 'control'")
    assert problem.line == line_of(text, "- key: control", 2)


def test_schedule_with_unknown_template(problems_of, study_text):
    text = study_text("""\
        homework:
          templates:
            - {key: record, builtin: thought_record}
          schedule:
            - template: recrod
              start_day: 0
              time: "19:00"
              due_after_hours: 24
        """)
    problem = only(problems_of(text))
    assert (problem.path, problem.message) == ("homework.schedule[0].template",
                                               "unknown template 'recrod'")
    assert problem.line == line_of(text, "recrod")


def test_expiry_before_due(problems_of, study_text):
    text = study_text("""\
        homework:
          templates: [{key: r, builtin: free_reflection}]
          schedule:
            - {template: r, start_day: 0, time: "19:00", due_after_hours: 24, expire_after_hours: 12}
        """)
    assert only(problems_of(text)).path == "homework.schedule[0].expire_after_hours"


QUESTIONNAIRES = """\
    questionnaires:
      instruments:
        - {key: phq9, builtin: phq9, safety: null}   # no safety rule: no crisis contacts needed
      timepoints:
        - key: baseline
          day: 0
          instruments: [phq9]
        - key: week8
          day: 56
          instruments:
            - phq9
            - gad7
    """


def test_timepoint_with_unknown_instrument(problems_of, study_text):
    text = study_text(QUESTIONNAIRES)
    problem = only(problems_of(text))
    assert problem.path == "questionnaires.timepoints[1].instruments[1]"
    assert problem.message == "unknown instrument 'gad7'"
    assert problem.line == line_of(text, "- gad7")


def test_primary_outcome_with_unknown_timepoint_and_instrument(problems_of, study_text):
    text = study_text(dedent(QUESTIONNAIRES.replace("            - gad7\n", "")) + dedent("""\
        analysis:
          primary:
            instrument: gad7
            timepoint: week12
            baseline_timepoint: baseline
        """))
    problems = problems_of(text)
    assert problems_as_errors(problems) == {
        "analysis.primary.instrument": ["unknown instrument 'gad7'"],
        "analysis.primary.timepoint": ["unknown timepoint 'week12'"],
        "analysis.primary.baseline_timepoint": ["'gad7' is not given at timepoint 'baseline'"],
    }
    by_path = {p.path: p.line for p in problems}
    assert by_path["analysis.primary.timepoint"] == line_of(text, "week12")


STRATA = """\
    stratification:
      - {key: site, levels: [a, b]}
    """


def test_minimisation_factor_not_among_strata(problems_of, study_text):
    text = study_text(STRATA, replace={"  method: simple": (
        "  method: minimisation\n  minimisation:\n    factors: [site, sex]")})
    problem = only(problems_of(text))
    assert problem.path == "allocation.minimisation.factors[1]"
    assert problem.message == "minimisation factor 'sex' is not in stratification"
    assert problem.line == line_of(text, "factors: [site, sex]")


def test_block_sizes_checked_against_ratio_sum(problems_of, study_text):
    text = study_text(replace={
        "  method: simple": "  method: permuted_blocks\n  block_sizes: [3, 4]",
        "  - key: treated": "  - key: treated\n    ratio: 2"})
    problem = only(problems_of(text))
    assert problem.path == "allocation.block_sizes[1]"
    assert problem.message == "block size 4 is not a multiple of the ratio sum 3 (arms: 2)"


def test_permuted_blocks_need_block_sizes(problems_of, study_text):
    text = study_text(replace={"  method: simple": "  method: permuted_blocks"})
    assert only(problems_of(text)).path == "allocation.block_sizes"


def test_locale_without_consent_text(problems_of, study_text):
    text = study_text("locales: [en, es]\n")
    problem = only(problems_of(text))
    assert (problem.path, problem.message) == ("consent.text", "no consent text for locale 'es'")
    assert problem.line == line_of(text, "text: {en:")


def test_framing_variant_without_texts_in_any_template(problems_of, study_text):
    text = study_text("homework:\n  templates: [{key: r, builtin: free_reflection}]\n",
                      replace={'["18:00"]\n': '["18:00"]\n      framing: communty\n'})
    problem = only(problems_of(text))
    assert problem.path == "arms[1].features.framing"
    assert problem.message == "no homework template has texts for framing 'communty'"


def test_template_without_default_texts(problems_of, study_text):
    text = study_text("""\
        homework:
          templates:
            - key: mood
              fields: [{key: mood, type: scale, min: 0, max: 10}]
              texts:
                en:
                  community: {intro: "Others are rating their mood too."}
        """)
    problem = only(problems_of(text))
    assert problem.path == "homework.templates[0].texts"
    assert problem.message == "no default texts in default locale 'en'"


def test_field_options_must_fit_the_type(problems_of, study_text):
    text = study_text("""\
        homework:
          templates:
            - key: mood
              fields:
                - {key: mood, type: scale, min: 0, max: 10, choices: [low, high]}
        """)
    problem = only(problems_of(text))
    assert problem.path == "homework.templates[0].fields[0].choices"
    assert problem.message == "choices is only used with type choice or multichoice"


def test_policy_fixed_needs_times(problems_of, study_text):
    text = study_text(replace={'        times: ["18:00"]\n': ""})
    problem = only(problems_of(text))
    assert problem.path == "arms[1].features.reminders.times"


def test_micro_randomised_needs_decision_points_and_probability(problems_of, study_text):
    text = study_text(replace={"policy: fixed": "policy: micro_randomised"})
    assert {p.path for p in problems_of(text)} == {
        "arms[1].features.reminders.times",
        "arms[1].features.reminders.decision_points",
        "arms[1].features.reminders.probability"}


def test_wrong_types_are_reported_not_coerced(problems_of, study_text):
    text = study_text(replace={"  - key: treated": "  - key: treated\n    ratio: \"2\""})
    problem = only(problems_of(text))
    assert (problem.path, problem.message) == ("arms[1].ratio", "Not a valid integer.")


def test_load_study_data_reports_without_lines():
    with pytest.raises(StudyDefinitionError) as info:
        load_study_data({"key": "x", "title": "t"}, "api")
    errors = info.value.to_json()
    assert errors["code"] == "invalid_study_definition"
    # The cross-field checks run on the valid parts too: arms are missing as well.
    assert errors["errors"] == {"consent": ["Missing data for required field."],
                                "allocation": ["Missing data for required field."],
                                "arms": ["give either arms or factors"]}
    assert str(info.value.problems[0]) == "api: consent: Missing data for required field."


def test_error_string_has_one_line_per_problem(study_text):
    text = study_text(replace={"title: Minimal study\n": "", "key: mini": "key: Mini Study"})
    with pytest.raises(StudyDefinitionError) as info:
        load_study_text(text, "s.yaml")
    lines = str(info.value).splitlines()
    assert lines == [str(p) for p in info.value.problems] and len(lines) == 2
    assert lines[0].startswith("s.yaml: key: 'Mini Study' is not a valid key")


def test_a_list_is_not_a_study(problems_of):
    problem = only(problems_of("- a\n- b\n"))
    assert (problem.path, problem.line) == ("<root>", 1)


def test_unreadable_file_is_a_problem(tmp_path):
    from hwtrial.studydef import validate_paths

    problems = validate_paths([tmp_path / "missing.yaml"])
    assert [p.path for p in problems] == ["<file>"]
