"""Engagement metrics from events: focus-aware active time, idle cap, order, clocks."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwtrial.homework.metrics import EVENT_TYPES, derive_metrics, self_review_depth

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ev(seconds, kind, eid=None, server_delay=None, **extra):
    client = T0 + timedelta(seconds=seconds)
    event = {"id": eid or f"{kind}@{seconds}", "type": kind, "client_time": client}
    event["server_time"] = None if server_delay is None else client + timedelta(seconds=server_delay)
    return event | extra


def active(events, **kw):
    return derive_metrics(events, None, None, None, **kw).active_seconds


def test_two_focused_stretches_and_blurred_time_ignored():
    events = [
        ev(0, "opened"), ev(30, "field_changed"), ev(60, "field_changed"), ev(90, "blur"),
        ev(1000, "focus"), ev(1010, "field_changed"), ev(1040, "submitted"),
    ]
    m = derive_metrics(events, None, None, None)
    assert m.active_seconds == 90 + 40
    assert m.edits == 3


def test_each_gap_is_capped_at_the_idle_limit():
    events = [ev(0, "opened"), ev(600, "field_changed"), ev(630, "submitted")]
    assert active(events) == 120 + 30
    assert active(events, idle_limit=60) == 60 + 30
    with pytest.raises(ValueError, match="idle_limit"):
        active(events, idle_limit=0)


def test_autosave_does_not_keep_an_idle_page_active():
    events = [ev(0, "opened")] + [ev(s, "draft_saved") for s in range(60, 600, 60)]
    events += [ev(600, "field_changed"), ev(610, "submitted")]
    assert active(events) == 120 + 10


def test_typing_without_a_focus_event_starts_a_stretch_and_page_hidden_ends_it():
    events = [ev(0, "field_changed"), ev(50, "field_changed"), ev(60, "page_hidden"),
              ev(500, "field_changed"), ev(505, "submitted")]
    assert active(events) == 60 + 5


def test_no_open_ended_time_after_the_last_interaction():
    assert active([ev(0, "opened"), ev(20, "field_changed")]) == 20
    assert active([ev(0, "opened")]) == 0
    assert active([]) == 0


def test_neutral_and_unknown_events_change_nothing():
    base = [ev(0, "opened"), ev(40, "field_changed"), ev(70, "submitted")]
    noise = [ev(10, "feature_exposed"), ev(-100, "reminder_clicked"), ev(20, "confetti")]
    assert active(base + noise) == active(base) == 70
    assert {"opened", "submitted", "page_hidden"} <= EVENT_TYPES


def test_out_of_order_and_duplicated_events_give_the_same_metrics():
    events = [
        ev(0, "opened"), ev(30, "field_changed"), ev(200, "field_changed"), ev(230, "blur"),
        ev(900, "focus"), ev(960, "field_changed"), ev(990, "submitted"),
    ]
    baseline = derive_metrics(events, None, None, None)
    shuffled = events + [dict(events[1]), dict(events[5])]
    random.Random(7).shuffle(shuffled)
    again = derive_metrics(shuffled, None, None, None)
    assert again.active_seconds == baseline.active_seconds == 30 + 120 + 30 + 60 + 30
    assert (again.edits, again.n_events, again.n_duplicates) == (3, 7, 2)


def test_a_retried_event_keeps_its_first_arrival():
    first = ev(100, "field_changed", eid="e1", server_delay=1)
    retry = ev(100, "field_changed", eid="e1", server_delay=900)
    for events in ([retry, first], [first, retry]):
        m = derive_metrics(events, None, None, T0)
        # offset = 1 s (the first arrival), not 900 s: the delay is 100 + 1
        assert (m.delay_to_start_seconds, m.n_duplicates, m.edits) == (101, 1, 1)


def test_same_instant_blur_and_focus_means_left_and_came_back():
    events = [ev(0, "opened"), ev(10, "focus"), ev(10, "blur"), ev(40, "field_changed")]
    assert active(events) == active(list(reversed(events))) == 40


def test_words_count_text_fields_only_when_specs_given():
    submission = {"situation": "Late for the bus again", "emotion": "anxious", "intensity": 70}
    fields = [
        {"key": "situation", "type": "longtext"},
        {"key": "emotion", "type": "choice", "choices": ["anxious"]},
        {"key": "intensity", "type": "scale"},
    ]
    assert derive_metrics([], submission, None, None).words == 6
    assert derive_metrics([], submission, None, None, fields=fields).words == 5
    assert derive_metrics([], None, None, None).words == 0


def test_effort_from_submission_then_self_review():
    assert derive_metrics([], {"effort": 4}, {"effort": 2}, None).effort == 4.0
    assert derive_metrics([], {"x": "y"}, {"effort": 2}, None).effort == 2.0
    assert derive_metrics([], {"effort": True}, None, None).effort is None
    assert derive_metrics([], None, None, None).effort is None


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        (None, (0, 0, False)),
        ({}, (0, 0, False)),
        ({"usefulness": 0}, (1, 0, True)),  # a zero rating is still a rating
        ({"usefulness": 4, "reflection": "   "}, (1, 0, True)),
        ({"reflection": "I rushed it"}, (2, 3, False)),
        ({"usefulness": 2, "reflection": " ".join(["word"] * 20)}, (2, 20, True)),
        ({"usefulness": 2, "reflection": " ".join(["word"] * 21)}, (3, 21, True)),
    ],
)
def test_self_review_depth(review, expected):
    assert self_review_depth(review) == expected
    m = derive_metrics([], None, review, None)
    assert (m.self_review_depth, m.self_review_words, m.usefulness_rated) == expected


def test_delay_to_start_corrects_a_wrong_client_clock():
    # Client clock 1 h slow; the fastest upload took 2 s, so the offset is 1 h 2 s.
    skew = 3600
    events = [
        ev(600 - skew, "opened", server_delay=skew + 2),
        ev(720 - skew, "field_changed", server_delay=skew + 5),
        ev(800 - skew, "submitted", server_delay=skew + 30),  # batched, uploaded late
    ]
    m = derive_metrics(events, None, None, T0)
    assert m.delay_to_start_seconds == 720 + 2
    assert m.active_seconds == 120 + 80


def test_delay_to_start_edge_cases():
    events = [ev(300, "opened"), ev(400, "field_changed")]
    assert derive_metrics(events, None, None, T0).delay_to_start_seconds == 400  # no server times
    assert derive_metrics(events, None, None, None).delay_to_start_seconds is None
    assert derive_metrics(events[:1], None, None, T0).delay_to_start_seconds is None
    later = T0 + timedelta(seconds=500)  # clock noise: never negative
    assert derive_metrics(events, None, None, later).delay_to_start_seconds == 0.0
    assert derive_metrics([ev(90, "started")], None, None, T0).delay_to_start_seconds == 90


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="client_time"):
        derive_metrics([{"id": 1, "type": "opened", "client_time": datetime(2026, 1, 1)}],
                       None, None, None)
    with pytest.raises(ValueError, match="delivered_at"):
        derive_metrics([ev(1, "field_changed")], None, None, datetime(2026, 1, 1))


def test_to_dict():
    d = derive_metrics([ev(0, "opened"), ev(5, "submitted")], {"t": "a b"}, None, T0).to_dict()
    assert d["active_seconds"] == 5 and d["words"] == 2 and d["self_review_depth"] == 0


_KINDS = ["opened", "focus", "blur", "field_changed", "draft_saved", "submitted", "page_hidden"]


@given(
    st.lists(st.tuples(st.integers(0, 5000), st.sampled_from(_KINDS)), max_size=30),
    st.randoms(use_true_random=False),
)
def test_active_time_properties(raw, rnd):
    events = [ev(s, kind, eid=str(i)) for i, (s, kind) in enumerate(raw)]
    seconds = active(events)
    interactions = [e for e in events if e["type"] != "draft_saved"]
    span = max((s for s, _ in raw), default=0) - min((s for s, _ in raw), default=0)
    assert 0 <= seconds <= span
    assert seconds <= 120 * max(len(interactions) - 1, 0)
    shuffled = events + events[: len(events) // 2]
    rnd.shuffle(shuffled)
    assert active(shuffled) == seconds  # same-instant ties are ordered canonically
