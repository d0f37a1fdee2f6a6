"""Defaults, derived factorial cells, builtin expansion and text resolution."""

from __future__ import annotations

import pytest

from hwtrial.studydef import StudyDefinitionError, load_study_data, load_study_text, resolve_texts

from .conftest import line_of

FACTORIAL = """\
key: fac
title: Factorial
consent: {version: "1", text: {en: "I agree."}}
factors:
  - key: reminders
    levels:
      - key: off
      - key: on
        features: {reminders: {policy: fixed, times: ["09:00"]}}
  - key: self_review
    levels:
      - key: off
      - key: on
        features: {self_review: {enabled: true}}
  - key: framing
    levels:
      - key: self_improvement
        features: {framing: self_improvement}
      - key: community
        features: {framing: community, extra: {badge: true}}
allocation:
  method: factorial
  block_sizes: [8, 16]
homework:
  templates: [{key: r, builtin: free_reflection}]
"""


def test_defaults_are_applied(study_text):
    defn = load_study_text(study_text())
    control = defn.features_for("control")
    assert control == {
        "reminders": {"policy": "none", "times": [], "days": ["mon", "tue", "wed", "thu", "fri",
                                                               "sat", "sun"],
                      "quiet_hours": None, "channels": [], "relative_to_due_hours": [],
                      "decision_points": None, "probability": None, "availability": None},
        "self_review": {"enabled": False, "prompt": {}, "usefulness_scale": {"min": 0, "max": 10}},
        "framing": "default",
        "extra": {},
    }
    assert defn.features_for("treated")["reminders"]["channels"] == ["email"]
    assert [(a["code"], a["label"], a["ratio"]) for a in defn.arms] == [
        ("A", "control", 1), ("B", "treated", 1)]
    assert (defn.locales, defn.default_locale) == (["en"], "en")
    assert defn.data["allocation"] == {"method": "simple", "block_sizes": None, "stratify_by": [],
                                       "minimisation": None, "factorial": None, "cluster": None}
    assert defn.analysis is None and defn.schedule == [] and not defn.is_factorial


def test_schedule_and_analysis_defaults(study_text):
    defn = load_study_text(study_text("""\
        homework:
          templates: [{key: r, builtin: free_reflection}]
          schedule: [{template: r, start_day: 2, time: "08:00", due_after_hours: 12}]
        questionnaires:
          instruments: [{key: gad7, builtin: gad7}]
          timepoints:
            - {key: base, day: 0, instruments: [gad7]}
            - {key: end, day: 28, instruments: [gad7]}
        analysis:
          primary: {instrument: gad7, timepoint: end}
        """))
    assert defn.schedule == [{"template": "r", "start_day": 2, "time": "08:00",
                              "repeat": {"every_days": 1, "count": 1}, "open_before_hours": 0.0,
                              "due_after_hours": 12.0, "expire_after_hours": 12.0}]
    assert defn.questionnaires["timepoints"][0]["window_before_days"] == 0
    assert defn.analysis == {
        "primary": {"instrument": "gad7", "timepoint": "end", "baseline_timepoint": None,
                    "model": "ancova", "covariates": [], "robust_se": None},
        "secondary": [], "alpha": 0.05, "multiplicity": "none", "populations": ["itt"],
        "per_protocol": None}


def test_minimisation_defaults_to_all_strata_and_no_strata(study_text):
    defn = load_study_text(study_text(
        "stratification:\n  - {key: site, levels: [a, b]}\n  - {key: sex, levels: [f, m]}\n",
        replace={"  method: simple": "  method: minimisation\n  minimisation: {variant: taves}"}))
    assert defn.allocation["strata"] == []
    assert defn.allocation["minimisation"] == {
        "factors": ["site", "sex"], "weights": {"site": 1.0, "sex": 1.0},
        "imbalance": "range", "variant": "taves", "p": 1.0}


def test_factorial_cells_are_derived():
    defn = load_study_text(FACTORIAL)
    keys = [a["key"] for a in defn.arms]
    assert keys[:2] == ["reminders=off|self_review=off|framing=self_improvement",
                        "reminders=off|self_review=off|framing=community"]
    assert keys[-1] == "reminders=on|self_review=on|framing=community"
    assert len(set(keys)) == 8 and [a["code"] for a in defn.arms][-1] == "C8"
    cell = defn.features_for("reminders=on|self_review=off|framing=community")
    assert cell["reminders"]["times"] == ["09:00"] and cell["self_review"]["enabled"] is False
    assert cell["framing"] == "community" and cell["extra"] == {"badge": True}
    assert defn.arms[0]["label"] == "reminders: off, self_review: off, framing: self_improvement"
    assert defn.data["factors"][0]["levels"][0] == {"key": "off", "features": {}}
    # Derived arms are kept in .data and accepted back, unchanged.
    assert load_study_data(defn.data).data == defn.data


def test_fractional_half_of_a_2x2x2():
    defn = load_study_text(FACTORIAL.replace("allocation:", "fractional: {C: AB}\nallocation:")
                           .replace("[8, 16]", "[4, 8]"))
    assert [a["key"] for a in defn.arms] == [
        "reminders=off|self_review=off|framing=community",
        "reminders=off|self_review=on|framing=self_improvement",
        "reminders=on|self_review=off|framing=self_improvement",
        "reminders=on|self_review=on|framing=community",
    ]
    assert defn.allocation["factorial"]["fractional"] == {"C": "AB"}


def test_fractional_generator_must_name_base_factors(problems_of):
    text = FACTORIAL.replace("allocation:", "fractional: {C: AD}\nallocation:")
    problem = problems_of(text)[0]
    assert problem.path == "fractional.C" and problem.line == line_of(text, "fractional")


def test_changed_derived_arms_are_refused():
    data = load_study_text(FACTORIAL).data
    data["arms"][0]["ratio"] = 2
    with pytest.raises(StudyDefinitionError) as info:
        load_study_data(data)
    assert [p.path for p in info.value.problems] == ["arms"]


def test_two_factors_switching_one_feature(problems_of):
    text = FACTORIAL.replace("features: {self_review: {enabled: true}}",
                             'features: {reminders: {times: ["20:00"]}}')
    problems = problems_of(text)
    assert [p.path for p in problems] == ["factors[1].levels[1].features.reminders.times"]
    assert problems[0].line == line_of(text, '["20:00"]')


def test_cell_problems_point_at_the_factors(problems_of):
    text = FACTORIAL.replace('{policy: fixed, times: ["09:00"]}', "{policy: fixed}")
    problems = problems_of(text)
    assert {p.path for p in problems} == {f"arms[{i}].features.reminders.times" for i in range(4, 8)}
    assert {p.line for p in problems} == {line_of(text, "factors:")}
    assert "(cell reminders=on|" in problems[0].message


def test_yaml_12_scalars(study_text):
    # YAML 1.1 reads on/off/yes/no as booleans and 2024-05-01 as a date; study files must not.
    defn = load_study_text(study_text(
        "stratification:\n  - {key: prior, levels: [no, yes]}\ndescription: 2024-05-01\n"))
    assert defn.strata == [{"key": "prior", "levels": ["no", "yes"]}]
    assert defn.data["description"] == "2024-05-01"


def test_builtin_template_expanded_with_text_override(study_text):
    defn = load_study_text(study_text("""\
        homework:
          templates:
            - key: tr
              builtin: thought_record
              texts:
                en:
                  community: {intro: "Your group is doing this too."}
        """))
    template = defn.template("tr")
    assert [f["key"] for f in template["fields"]] == [
        "situation", "automatic_thought", "emotion", "intensity", "evidence_for",
        "evidence_against", "balanced_thought", "rerated_intensity"]
    assert template["fields"][3] == {"key": "intensity", "type": "scale", "required": True,
                                     "min": 0, "max": 100}
    assert template["texts"]["en"]["community"]["intro"] == "Your group is doing this too."
    assert template["texts"]["es"]["default"]["fields"]["emotion"]["label"] == "Emoción"


def test_builtin_templates_have_en_es_and_three_framings(study_text):
    names = ["thought_record", "behavioural_activation", "exposure_log", "free_reflection"]
    extra = "homework:\n  templates:\n" + "".join(f"    - {{key: {n}, builtin: {n}}}\n" for n in names)
    defn = load_study_text(study_text(extra))
    for name in names:
        texts = defn.template(name)["texts"]
        fields = {f["key"] for f in defn.template(name)["fields"]}
        for locale in ("en", "es"):
            assert {"default", "self_improvement", "community"} <= texts[locale].keys()
            assert set(texts[locale]["default"]["fields"]) == fields


def test_builtin_instruments(study_text):
    defn = load_study_text(study_text(
        "questionnaires:\n  instruments:\n    - {key: phq9, builtin: phq9}\n"
        "    - {key: gad7, builtin: gad7, safety: {item: gad7_1, threshold: 3}}\n"
        "    - {key: p2, builtin: phq9, safety: null, bands: [{max: 9, label: low},"
        " {max: 27, label: high}]}\n"
        "support:\n  crisis_contacts:\n    en: [{name: Helpline, phone: '116 123'}]\n"))
    phq9, gad7, p2 = defn.questionnaires["instruments"]
    assert [b["max"] for b in phq9["scoring"]["bands"]] == [4, 9, 14, 19, 27]
    assert [b["label"] for b in phq9["scoring"]["bands"]] == [
        "minimal", "mild", "moderate", "moderately_severe", "severe"]
    assert [b["max"] for b in gad7["scoring"]["bands"]] == [4, 9, 14, 21]
    assert all(i["min"] == 0 and i["max"] == 3 and set(i["text"]) == {"en", "es"}
               for i in phq9["items"] + gad7["items"])
    assert len(gad7["items"]) == 7 and gad7["safety"]["item"] == "gad7_1"
    assert p2["safety"] is None and [b["label"] for b in p2["scoring"]["bands"]] == ["low", "high"]


def test_text_resolution_falls_back_per_key():
    texts = {
        "en": {"default": {"title": "T", "intro": "I", "fields": {"a": {"label": "A"}}},
               "community": {"intro": "I-community"}},
        "es": {"default": {"title": "T-es", "fields": {"a": {"label": "A-es"}}}},
    }
    assert resolve_texts(texts, "es", "community", "en") == {
        "title": "T-es", "intro": "I-community", "fields": {"a": {"label": "A-es"}}}
    assert resolve_texts(texts, "fr", "self_improvement", "en") == {
        "title": "T", "intro": "I", "fields": {"a": {"label": "A"}}}


def test_single_probability_becomes_a_one_step_schedule(study_text):
    text = study_text(replace={
        "policy: fixed": "policy: micro_randomised",
        'times: ["18:00"]': 'decision_points: {times: ["09:00"]}\n        probability: 0.5'})
    reminders = load_study_text(text).features_for("treated")["reminders"]
    assert reminders["probability"] == [{"from_day": 0, "probability": 0.5}]


def test_probability_outside_0_1_is_refused(problems_of, study_text):
    text = study_text(replace={
        "policy: fixed": "policy: micro_randomised",
        'times: ["18:00"]': 'decision_points: {times: ["09:00"]}\n        probability: 1.5'})
    (problem,) = problems_of(text)
    assert (problem.path, problem.line) == ("arms[1].features.reminders.probability",
                                            line_of(text, "probability: 1.5"))
