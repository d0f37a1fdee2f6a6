"""Pure cores of the therapist workspace: tailoring diffs and weekly engagement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hwtrial.homework.engagement import weekly_engagement
from hwtrial.homework.tailoring import LIMITS, apply_tailoring, tailor

ORIGINAL = {"title": "Thought record", "intro": "Write down a moment.",
            "fields": {"situation": {"label": "Situation", "help": "Where were you?"},
                       "emotion": {"label": "Emotion", "help": None}}}


def test_only_changed_keys_are_kept_in_template_order():
    result = tailor(ORIGINAL, {"intro": "  Write down a moment.\r\n", "fields": {
        "emotion": {"label": "Feeling", "help": ""}, "situation": {"label": "Situation", "help": "At dinner?"}}})
    assert result.errors == {}
    assert result.tailored == {"fields": {"situation": {"help": "At dinner?"}, "emotion": {"label": "Feeling"}}}
    assert result.changes == [
        {"key": "fields.situation.help", "original": "Where were you?", "tailored": "At dinner?"},
        {"key": "fields.emotion.label", "original": "Emotion", "tailored": "Feeling"}]
    assert result.original == ORIGINAL and result.original is not ORIGINAL


def test_nothing_changed_is_no_tailoring():
    assert tailor(ORIGINAL, None).changes == [] and tailor(ORIGINAL, {}).tailored == {}


def test_bad_edits_are_named_by_path():
    result = tailor(ORIGINAL, {"title": "Mine", "colour": "red", "intro": ["x"],
                               "fields": {"nope": {}, "situation": {"label": "", "size": 3},
                                          "emotion": {"help": "h" * (LIMITS["help"] + 1)}}})
    assert result.errors == {
        "tailoring.title": ["only ad hoc work has its own title"], "tailoring.colour": ["unknown key"],
        "tailoring.intro": ["must be text"], "tailoring.fields.nope": ["unknown field"],
        "tailoring.fields.situation.size": ["unknown key"],
        "tailoring.fields.situation.label": ["must not be empty"],
        "tailoring.fields.emotion.help": [f"at most {LIMITS['help']} characters"]}
    assert tailor(ORIGINAL, ["intro"]).errors == {"tailoring": ["must be an object"]}
    assert tailor(ORIGINAL, {"fields": ["x"]}).errors == {"tailoring.fields": ["must be an object"]}


def test_ad_hoc_work_needs_its_own_intro_and_may_have_a_title():
    adhoc = {**ORIGINAL, "intro": ""}
    assert tailor(adhoc, {"title": "Letter"}, adhoc=True).errors == {"tailoring.intro": ["required for ad hoc work"]}
    result = tailor(adhoc, {"title": "Letter", "intro": "Write it."}, adhoc=True)
    assert result.errors == {} and result.tailored == {"title": "Letter", "intro": "Write it."}


def test_apply_overlays_only_the_changed_keys():
    texts = {"title": "T", "intro": "framed intro", "submit_label": None,
             "fields": {"situation": {"label": "Situation", "help": "Where?"}}}
    out = apply_tailoring(texts, {"fields": {"situation": {"help": "At dinner?"}, "gone": {"label": "x"}}})
    assert out == {"title": "T", "intro": "framed intro", "submit_label": None,
                   "fields": {"situation": {"label": "Situation", "help": "At dinner?"}}}
    assert texts["fields"]["situation"]["help"] == "Where?"
    assert apply_tailoring(texts, None) == texts


def test_weekly_engagement_counts_due_submitted_and_minutes_per_week():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = start + timedelta(days=17)
    rows = [(start + timedelta(days=2), start + timedelta(days=3), 120.0),
            (start + timedelta(days=9), None, None),
            (start + timedelta(days=12), start + timedelta(days=15), 30.0),
            (start + timedelta(days=30), None, None)]  # due in the future: not yet due
    weeks = weekly_engagement(start, rows, now)
    assert [(w.number, w.due, w.submitted, w.minutes) for w in weeks] == [
        (1, 1, 1, 2.0), (2, 2, 0, 0.0), (3, 0, 1, 0.5)]
    assert weeks[2].start == start + timedelta(days=14)
    assert [(w.due, w.submitted) for w in weekly_engagement(start, [], start)] == [(0, 0)]
