"""Submission validation: every field type, form strings and JSON values, drafts."""

from datetime import date, time

import pytest

from hwtrial.homework.fields import validate_submission, words

FIELDS = [
    {"key": "situation", "type": "text", "required": True, "max_length": 20},
    {"key": "thoughts", "type": "longtext"},
    {"key": "count", "type": "integer", "min": 0},
    {"key": "hours", "type": "number", "min": 0, "max": 24},
    {"key": "intensity", "type": "scale", "required": True, "min": 0, "max": 100},
    {"key": "emotion", "type": "choice", "choices": ["sad", "anxious", "angry"]},
    {"key": "tags", "type": "multichoice", "choices": ["home", "work", "family"]},
    {"key": "done", "type": "boolean"},
    {"key": "day", "type": "date"},
    {"key": "at", "type": "time"},
]


def check(values, **kw):
    return validate_submission(FIELDS, values, **kw)


def test_form_strings_are_converted():
    clean, errors = check({
        "situation": "  at the bus stop ", "thoughts": "", "count": " 3", "hours": "1.5",
        "intensity": "70", "emotion": "sad", "tags": "work", "done": "on",
        "day": "2026-03-08", "at": "07:05",
    })
    assert errors == {}
    assert clean == {
        "situation": "at the bus stop", "count": 3, "hours": 1.5, "intensity": 70,
        "emotion": "sad", "tags": ["work"], "done": True, "day": "2026-03-08", "at": "07:05",
    }


def test_multidict_lists_from_a_form():
    form = {"situation": ["bus"], "intensity": ["5"], "tags": ["home", "work"], "emotion": ["sad", "angry"]}
    clean, errors = check(form)
    assert clean == {"situation": "bus", "intensity": 5, "tags": ["home", "work"]}
    assert errors == {"emotion": ["must be one of: sad, anxious, angry"]}


def test_json_values_are_accepted():
    clean, errors = check({
        "situation": "x", "count": 4.0, "hours": 2, "intensity": 0, "tags": ["home", "home", "work"],
        "done": False, "day": date(2026, 1, 2), "at": time(23, 59),
    })
    assert errors == {}
    assert clean["count"] == 4 and isinstance(clean["count"], int)
    assert clean["hours"] == 2.0 and isinstance(clean["hours"], float)
    assert clean["tags"] == ["home", "work"]
    assert clean["done"] is False
    assert (clean["day"], clean["at"]) == ("2026-01-02", "23:59")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("situation", "x" * 21, "must be at most 20 characters"),
        ("situation", 5, "must be text"),
        ("intensity", "101", "must be an integer between 0 and 100"),
        ("intensity", "7.5", "must be an integer between 0 and 100"),
        ("intensity", True, "must be an integer between 0 and 100"),
        ("intensity", "9" * 5000, "must be an integer between 0 and 100"),
        ("count", -1, "must be an integer of at least 0"),
        ("hours", "nan", "must be a number between 0 and 24"),
        ("hours", "1,5", "must be a number between 0 and 24"),
        ("hours", "1_0", "must be a number between 0 and 24"),
        ("hours", float("inf"), "must be a number between 0 and 24"),
        ("emotion", "happy", "must be one of: sad, anxious, angry"),
        ("tags", ["home", "gym"], "unknown choice 'gym'; must be among: home, work, family"),
        ("tags", {"home": 1}, "must be a list of: home, work, family"),
        ("done", "maybe", "must be true or false"),
        ("day", "2026-02-30", "must be a date (YYYY-MM-DD)"),
        ("day", "20260201", "must be a date (YYYY-MM-DD)"),
        ("at", "24:00", "must be a time (HH:MM)"),
        ("at", "7:05", "must be a time (HH:MM)"),
    ],
)
def test_type_errors(key, value, message):
    values = {"situation": "ok", "intensity": 5} | {key: value}
    clean, errors = check(values)
    assert errors == {key: [message]}
    assert key not in clean


def test_required_unknown_and_blank():
    clean, errors = check({"situation": "   ", "mood2": "x", "tags": []})
    assert errors == {"situation": ["required"], "intensity": ["required"], "mood2": ["unknown field"]}
    assert clean == {}


def test_partial_draft_skips_required_but_still_checks_values():
    clean, errors = check({"thoughts": "draft", "intensity": "200"}, partial=True)
    assert clean == {"thoughts": "draft"}
    assert errors == {"intensity": ["must be an integer between 0 and 100"]}
    assert check({}, partial=True) == ({}, {})


def test_default_text_limit_and_bad_specs():
    assert check({"situation": "a", "intensity": 1, "thoughts": "w" * 20001})[1] == {
        "thoughts": ["must be at most 20000 characters"]
    }
    with pytest.raises(ValueError, match="'s'.*scale needs min and max"):
        validate_submission([{"key": "s", "type": "scale"}], {"s": 1})
    with pytest.raises(ValueError, match="'c'.*choices"):
        validate_submission([{"key": "c", "type": "choice"}], {"c": "a"})
    with pytest.raises(ValueError, match="unknown type 'colour'"):
        validate_submission([{"key": "k", "type": "colour"}], {})


@pytest.mark.parametrize(
    ("text", "n"),
    [
        (None, 0),
        ("", 0),
        ("  ... -- !!", 0),
        ("I don't know", 3),
        ("well-being, self\u2019esteem and 42 things", 5),
        ("Ich f\u00fchle mich m\u00fcde", 4),
        ("snake_case words", 3),
        ("line\nbreak\ttab", 3),
    ],
)
def test_words(text, n):
    assert words(text) == n
