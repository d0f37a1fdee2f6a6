"""Study files that only an attack would write are refused quickly, with a clear problem.

Timings are in ``tests/bench/bench_studydef.py``; here each case's outcome is checked, and
the linear error location by counting how often the line index is built.
"""

from __future__ import annotations

import pytest
import yaml

from hwtrial.studydef import StudyDefinitionError, load_study_data, load_study_text, yamlsource
from hwtrial.studydef import loader as loader_module
from hwtrial.studydef.yamlsource import MAX_BYTES, MAX_DEPTH, MAX_NODES

from .conftest import EXAMPLES, MINIMAL, line_of


def alias_bomb() -> str:
    """Billion laughs: nine aliases per level, nine levels (10^9 strings once expanded)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n" + MINIMAL


def merge_bomb() -> str:
    lines = ["m0: &m0 {k0: 0, k1: 1}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}], x{i}: *m{i - 1}}}" for i in range(1, 24)]
    return "\n".join(lines) + "\n" + MINIMAL


def deep_json_text(depth: int) -> str:
    return '{"key": "x", "deep": ' + "[" * depth + "]" * depth + "}"


def problems(text: str):
    with pytest.raises(StudyDefinitionError) as info:
        load_study_text(text, "x.yaml")
    return info.value.problems


def only_message(text: str):
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_alias_bomb_is_refused_at_the_first_alias():
    text = alias_bomb()
    problem = only_message(text)
    assert problem.path == "<yaml>"
    # The first anchor is met before any alias.
    assert problem.message == "anchors (&a0) are not allowed in a study file; write the value out"
    assert problem.line == 1


def test_an_alias_alone_is_refused():
    text = MINIMAL + "description: *nowhere\n"
    problem = only_message(text)
    assert problem.message == "aliases (*nowhere) are not allowed in a study file; write the value out"
    assert problem.line == line_of(text, "*nowhere")


def test_an_anchor_alone_is_refused():
    problem = only_message(MINIMAL.replace("title: Minimal study", "title: &t Minimal study"))
    assert problem.message.startswith("anchors (&t) are not allowed")
    assert problem.line == 2


def test_merge_key_bomb_is_refused():
    assert "not allowed in a study file" in only_message(merge_bomb()).message


def test_a_merge_key_without_aliases_is_refused():
    text = MINIMAL.replace("allocation:\n", "allocation:\n  <<: {method: simple}\n")
    problem = only_message(text)
    assert problem.message == "merge keys (<<) are not allowed in a study file; write the keys out"
    assert problem.line == line_of(text, "<<")


def test_a_quoted_double_less_than_key_is_just_an_unknown_field():
    text = MINIMAL.replace("allocation:\n", 'allocation:\n  "<<": 1\n')
    assert [(p.path, p.message) for p in problems(text)] == [("allocation.<<", "unknown field")]


def _nested_yaml(depth: int) -> str:
    return MINIMAL + "deep: " + "[" * depth + "]" * depth + "\n"


def test_yaml_nested_thousands_deep_is_a_problem_not_a_recursion_error():
    problem = only_message(_nested_yaml(10_000))
    assert (problem.path, problem.message) == ("<yaml>", f"nested more than {MAX_DEPTH} levels deep")
    assert problem.line == line_of(_nested_yaml(3), "deep")


def test_depth_limit_is_exact():
    # The root mapping is level 1 and the first list under `deep` level 2: 63 lists reach 64.
    assert [p.path for p in problems(_nested_yaml(MAX_DEPTH - 1))] == ["deep"]  # unknown field
    assert problems(_nested_yaml(MAX_DEPTH))[0].path == "<yaml>"
    nested: list = []  # 63 lists, as in the YAML above
    for _ in range(MAX_DEPTH - 2):
        nested = [nested]
    with pytest.raises(StudyDefinitionError) as info:
        load_study_data({"key": "x", "deep": nested})
    assert "nested" not in str(info.value)
    with pytest.raises(StudyDefinitionError) as info:
        load_study_data({"key": "x", "deep": [nested]})
    assert [p.message for p in info.value.problems] == [f"nested more than {MAX_DEPTH} levels deep"]


def test_json_text_nested_thousands_deep_is_a_problem():
    problem = only_message(deep_json_text(10_000))
    assert (problem.path, problem.message) == ("<json>", f"nested more than {MAX_DEPTH} levels deep")


def test_json_text_nested_past_the_limit_but_decodable_is_a_problem():
    problem = only_message(deep_json_text(100))
    assert (problem.path, problem.message) == ("<root>", f"nested more than {MAX_DEPTH} levels deep")


def test_parsed_data_nested_thousands_deep_is_a_problem():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(StudyDefinitionError) as info:
        load_study_data({"key": "x", "deep": deep})
    assert [p.message for p in info.value.problems] == [f"nested more than {MAX_DEPTH} levels deep"]


def test_text_over_one_mebibyte_is_refused_before_parsing():
    text = MINIMAL + "description: " + "x" * MAX_BYTES + "\n"
    problem = only_message(text)
    assert problem.path == "<file>"
    assert problem.message.endswith(f"the limit is {MAX_BYTES:,} (1 MiB)")


def test_one_hundred_thousand_unknown_keys_hit_the_node_cap():
    text = MINIMAL + "".join(f"u{i}: 0\n" for i in range(100_000))
    assert len(text.encode()) < MAX_BYTES
    problem = only_message(text)
    assert problem.message.startswith(f"the study has more than {MAX_NODES:,} values")
    assert problem.line is not None


def test_many_problems_are_located_with_one_index_and_capped(monkeypatch):
    calls = []
    real = loader_module.line_index

    def counting(node):
        calls.append(node)
        return real(node)

    monkeypatch.setattr(loader_module, "line_index", counting)
    n = 20_000
    text = MINIMAL.replace("  - key: control\n",
                           "  - key: control\n" + "".join(f"    u{i}: 0\n" for i in range(n)))
    found = problems(text)
    assert len(calls) == 1
    assert len(found) == loader_module.MAX_PROBLEMS + 1
    assert (found[0].path, found[0].message) == ("arms[0].u0", "unknown field")
    assert found[0].line == line_of(text, "u0:")
    assert found[199].line == line_of(text, "u199:")
    assert (found[-1].path, found[-1].message) == (
        "<root>", f"and {n - 200:,} more problems (fix these first)")


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_libyaml_parse_matches_pyyaml(example):
    text = example.read_text()
    fast, fast_node = yamlsource.compose(text)
    assert type(fast).__name__ == "_FastStudyLoader"
    slow = yamlsource.StudyLoader(text)
    slow_node = slow.get_single_node()
    assert yamlsource.line_index(fast_node) == yamlsource.line_index(slow_node)
    assert fast.construct_document(fast_node) == slow.construct_document(slow_node)
    fast.dispose()
    slow.dispose()


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", ["[" * 1_000_000, "a: " + "{a: " * 200_000, "- " * 400_000],
                         ids=["flow-lists", "flow-mappings", "block-lists"])
def test_a_mebibyte_of_openers_is_a_depth_problem(text):
    # PyYAML's own scanner looks ahead through every [ in quadratic time; libyaml stops at
    # its nesting limit, which is reported as the study's.
    problem = only_message(text)
    assert (problem.path, problem.message) == ("<yaml>", f"nested more than {MAX_DEPTH} levels deep")
    assert problem.line == 1


@pytest.mark.parametrize("make", [alias_bomb, merge_bomb, lambda: _nested_yaml(10_000)],
                         ids=["alias-bomb", "merge-bomb", "deep"])
def test_limits_hold_without_libyaml(monkeypatch, make):
    monkeypatch.setattr(yamlsource, "_FastStudyLoader", None)
    assert only_message(make()).path == "<yaml>"
    assert load_study_text(EXAMPLES[0].read_text()).key


REMINDER_RCT = next(p for p in EXAMPLES if p.name == "reminder-rct.yaml")


@pytest.mark.parametrize(("old", "new", "path"), [
    # Each loaded before, and then every enrolment answered 500 (OverflowError) or planned
    # a row per repeat: numbers in a study file are bounded like the text is.
    ("start_day: 1", "start_day: 100000000000", "homework.schedule[0].start_day"),
    ("every_days: 3", "every_days: 100000000000", "homework.schedule[0].repeat.every_days"),
    ("count: 12", "count: 100000000", "homework.schedule[0].repeat.count"),
    ("every_days: 3", "every_days: 3660", "homework.schedule[0].repeat"),
    ("due_after_hours: 48", "due_after_hours: 1e300", "homework.schedule[0].due_after_hours"),
    ("day: 56,", "day: 100000000000,", "questionnaires.timepoints[2].day"),
    ("window_after_days: 7", "window_after_days: 100000000000", "questionnaires.timepoints[2].window_after_days"),
    ("relative_to_due_hours: [-24]", "relative_to_due_hours: [-1e12]",
     "arms[1].features.reminders.relative_to_due_hours[0]"),
    ("key: control\n", "key: control\n    ratio: 1000000000000000000000000000000\n", "arms[0].ratio"),
    ("block_sizes: [2, 4]", "block_sizes: [2, 4000000]", "allocation.block_sizes[1]"),
])
def test_numbers_too_large_to_plan_are_one_problem_each(old, new, path):
    text = REMINDER_RCT.read_text()
    assert old in text
    found = only_message(text.replace(old, new, 1))
    assert found.path == path


def test_a_daily_task_for_a_thousand_days_still_loads():
    text = REMINDER_RCT.read_text().replace("every_days: 3", "every_days: 1").replace("count: 12", "count: 1000")
    assert load_study_text(text, "x.yaml").key == "reminder-rct"
