"""Engagement metrics of one participant-instance, derived on the server from its events.

Pure: takes the stored events, the submitted values and the self-review answers.

Events are ``{id, type, client_time, server_time, field?, payload?}`` with aware
datetimes. Clients retry and batch-upload, so events are first de-duplicated by ``id``
(the copy that reached the server first is kept) and then ordered by ``client_time``;
events at the same instant are ordered interactions, ends, starts, so the result never
depends on the order the rows arrive in.

Active time
    The page is *active* from an ``opened``/``focus`` event until the next ``blur``,
    ``page_hidden`` or ``submitted``. Within an active stretch the time between consecutive
    *interaction* events (the start and end events themselves, ``field_changed`` and
    ``self_review_answered``) is added, each gap capped at ``idle_limit`` seconds: a tab
    left open over lunch counts for at most ``idle_limit``. ``draft_saved`` is not an
    interaction (autosave fires without the person) and neither are ``reminder_clicked``
    or ``feature_exposed``. Any other interaction while inactive (typically
    ``field_changed``) starts a stretch: typing proves focus even when the browser's focus
    event was lost.

Delay to start
    From ``delivered_at`` (a server instant) to the first ``started`` or
    ``field_changed`` event. Client clocks can be wrong by minutes or hours, so that
    event's client time is moved onto the server clock by the smallest observed
    ``server_time - client_time`` over the instance's events: an event cannot reach the
    server before it happened, so the minimum is the clock offset plus the shortest
    network delay. Negative results (clock noise) are reported as 0.

Self-review depth (0-3)
    0: no self-review answer; 1: usefulness rated but no reflection words;
    2: a reflection of 1-20 words; 3: a reflection of more than 20 words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hwtrial.homework.fields import words

__all__ = [
    "EVENT_TYPES",
    "InstanceMetrics",
    "derive_metrics",
    "self_review_depth",
]

#: Event types a client may send; others are ignored by the metrics.
EVENT_TYPES = frozenset(
    {
        "opened", "focus", "blur", "page_hidden", "started", "field_changed", "draft_saved",
        "submitted", "self_review_answered", "reminder_clicked", "feature_exposed",
    }
)
_STARTS = {"opened", "focus"}
_ENDS = {"blur", "page_hidden", "submitted"}
_INTERACTIONS = _STARTS | _ENDS | {"field_changed", "self_review_answered", "started"}
_FIRST_WORK = {"started", "field_changed"}
_TIE_RANK = {**dict.fromkeys(_ENDS, 1), **dict.fromkeys(_STARTS, 2)}
#: Keys read from the self-review answers and submission.
REFLECTION_KEY, USEFULNESS_KEY, EFFORT_KEY = "reflection", "usefulness", "effort"
DEPTH_WORDS = 20


@dataclass(frozen=True)
class InstanceMetrics:
    """Engagement with one homework instance.

    Attributes
    ----------
    active_seconds : float
        Focus-aware working time, idle gaps capped (module docstring).
    edits : int
        Number of ``field_changed`` events after de-duplication.
    words : int
        Words in the submitted text fields (0 without a submission).
    effort : float or None
        The ``effort`` rating from the submission, else from the self-review, else None.
    self_review_words : int
        Words in the self-review ``reflection``.
    usefulness_rated : bool
        Whether the self-review has a ``usefulness`` rating.
    self_review_depth : int
        0-3 depth score (module docstring).
    delay_to_start_seconds : float or None
        Delivery to first work, on the server clock; None without delivery or work.
    n_events : int
        Events used, after de-duplication.
    n_duplicates : int
        Events dropped as repeated ids.
    """

    active_seconds: float
    edits: int
    words: int
    effort: float | None
    self_review_words: int
    usefulness_rated: bool
    self_review_depth: int
    delay_to_start_seconds: float | None
    n_events: int
    n_duplicates: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (JSON-ready)."""
        return dataclasses.asdict(self)


def _aware(dt: Any, name: str) -> datetime:
    if not isinstance(dt, datetime) or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {dt!r}")
    return dt


def _received(event: Mapping[str, Any]) -> tuple[bool, datetime]:
    server = event.get("server_time")
    return (server is None, server or event["client_time"])


def _ordered(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """De-duplicated events in a canonical order that does not depend on input order."""
    kept: dict[Any, Mapping[str, Any]] = {}
    for event in events:
        _aware(event["client_time"], f"event {event['id']!r} client_time")
        # A retried event is stored twice with different server times: keep the first
        # arrival, whatever order the rows come in, so the offset estimate is stable.
        if event["id"] not in kept or _received(event) < _received(kept[event["id"]]):
            kept[event["id"]] = event
    # Same-instant ties: interactions, then ends, then starts - a blur and a focus at one
    # instant mean "left and came back", so the page stays active afterwards.
    return sorted(
        kept.values(),
        key=lambda e: (e["client_time"], _TIE_RANK.get(e["type"], 0), _received(e), str(e["id"])),
    )


def _active_seconds(events: Sequence[Mapping[str, Any]], idle_limit: float) -> float:
    cap = timedelta(seconds=idle_limit)
    total = timedelta(0)
    last: datetime | None = None  # time of the last interaction while active
    for event in events:
        kind, when = event["type"], event["client_time"]
        if kind not in _INTERACTIONS:
            continue
        if last is not None:
            total += min(when - last, cap)
        if kind in _ENDS:
            last = None
        else:  # a start, or typing that proves the page has focus
            last = when
    return total.total_seconds()


def _clock_offset(events: Sequence[Mapping[str, Any]]) -> timedelta:
    diffs = [e["server_time"] - e["client_time"] for e in events if e.get("server_time")]
    return min(diffs, default=timedelta(0))


def _delay_to_start(events: Sequence[Mapping[str, Any]], delivered_at: datetime | None):
    if delivered_at is None:
        return None
    first = next((e for e in events if e["type"] in _FIRST_WORK), None)
    if first is None:
        return None
    started = first["client_time"] + _clock_offset(events)
    delay = (started - _aware(delivered_at, "delivered_at")).total_seconds()
    return max(delay, 0.0)


def _text_words(submission: Mapping[str, Any] | None, fields: Sequence[Mapping] | None) -> int:
    if not submission:
        return 0
    if fields is None:
        keys = [k for k, v in submission.items() if isinstance(v, str)]
    else:
        keys = [f["key"] for f in fields if f.get("type") in ("text", "longtext")]
    return sum(words(submission.get(k)) for k in keys if isinstance(submission.get(k), str))


def _effort(*sources: Mapping[str, Any] | None) -> float | None:
    for source in sources:
        value = (source or {}).get(EFFORT_KEY)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def self_review_depth(self_review: Mapping[str, Any] | None) -> tuple[int, int, bool]:
    """Depth of a self-review.

    Returns
    -------
    depth : int
        0 none, 1 usefulness rating only, 2 reflection of 1-20 words, 3 more than 20.
    n_words : int
        Words in the ``reflection`` answer.
    rated : bool
        Whether ``usefulness`` was rated.
    """
    review = self_review or {}
    reflection = review.get(REFLECTION_KEY)
    n_words = words(reflection) if isinstance(reflection, str) else 0
    rated = review.get(USEFULNESS_KEY) is not None
    if n_words > DEPTH_WORDS:
        return 3, n_words, rated
    if n_words > 0:
        return 2, n_words, rated
    return (1 if rated else 0), n_words, rated


def derive_metrics(
    events: Sequence[Mapping[str, Any]],
    submission: Mapping[str, Any] | None,
    self_review: Mapping[str, Any] | None,
    delivered_at: datetime | None,
    *,
    fields: Sequence[Mapping[str, Any]] | None = None,
    idle_limit: float = 120.0,
) -> InstanceMetrics:
    """Engagement metrics of one participant-instance.

    Parameters
    ----------
    events : list of dict
        The instance's events, any order, possibly with repeated ids.
    submission : dict or None
        Submitted (clean) values by field key.
    self_review : dict or None
        Self-review answers (``usefulness``, ``reflection``, ``effort``).
    delivered_at : datetime.datetime or None
        Server instant the instance was delivered (notification sent or first shown).
    fields : list of dict, optional
        Template field specs; when given only ``text``/``longtext`` fields count towards
        ``words``, otherwise every string value does.
    idle_limit : float, default 120
        Cap in seconds on any single gap counted as active.

    Returns
    -------
    InstanceMetrics
    """
    if not idle_limit > 0:
        raise ValueError(f"idle_limit must be positive, got {idle_limit!r}")
    ordered = _ordered(events)
    depth, review_words, rated = self_review_depth(self_review)
    return InstanceMetrics(
        active_seconds=_active_seconds(ordered, idle_limit),
        edits=sum(1 for e in ordered if e["type"] == "field_changed"),
        words=_text_words(submission, fields),
        effort=_effort(submission, self_review),
        self_review_words=review_words,
        usefulness_rated=rated,
        self_review_depth=depth,
        delay_to_start_seconds=_delay_to_start(ordered, delivered_at),
        n_events=len(ordered),
        n_duplicates=len(events) - len(ordered),
    )
