"""CONSORT 2010 flow numbers from plain participant records (PURE: no Flask, no database).

The rules (README, "Trial report and CONSORT"):

- **Assessed for eligibility**: hwtrial keeps no screening log, so unless the caller passes a
  number it is reported as not recorded.
- **Enrolled**: every participant record of the study; **allocated**: those with an arm.
- **Received the allocated features**: the first exposure of *every* feature of the arm is
  recorded (the features API records all of them at the first answer; a participant page's
  ``feature_exposed`` event records one). Every arm lists its features, a control arm too
  (with everything off), so "received" means the same for every arm.
- **Lost to follow-up at a timepoint**: the timepoint's window (participant-local days, as the
  schedule computes it) has closed before ``now``, no questionnaire answer exists for it, and
  the participant had not withdrawn before the window closed. Such a withdrawal is counted as
  *withdrew before* the timepoint instead; a window still open is *not yet due*.
- **Withdrew**: status withdrawn, by the participant (from their pages) or by staff, with the
  number who also withdrew consent to data use, and the reasons given (when shown).
- **Analysed**: per population of the results document, as its ``flow`` section counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hwtrial.scheduling import timepoint_windows, zone

#: Longest reason text kept (the participant pages accept 2,000 characters).
REASON_LENGTH = 200


@dataclass(frozen=True)
class ParticipantRecord:
    """What the flow needs of one participant.

    ``arm`` is the label the caller may see (arm key, or blinded code); ``None`` when not
    allocated. ``withdrawn_by`` is ``"participant"`` or ``"staff"``; ``reason`` the reason
    given, or ``None`` when not withdrawn or not to be shown.
    """

    id: int
    arm: str | None
    enrolled_at: datetime
    timezone: str = "UTC"
    status: str = "active"
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    reason: str | None = None
    data_use_withdrawn: bool = False


@dataclass(frozen=True)
class TimepointFlow:
    """One questionnaire timepoint in one arm."""

    timepoint: str
    assessed: int
    lost: int
    withdrew_before: int
    not_yet_due: int


@dataclass(frozen=True)
class AnalysedFlow:
    """One analysis population in one arm: analysed, and excluded from the allocated."""

    population: str
    analysed: int
    excluded: int


@dataclass(frozen=True)
class ArmFlow:
    """The flow of one arm, from allocation to analysis."""

    arm: str
    allocated: int
    received: int
    followup: tuple[TimepointFlow, ...]
    withdrawn: int
    withdrawn_by_participant: int
    withdrawn_by_staff: int
    data_use_withdrawn: int
    #: (reason, count), most frequent first; empty when reasons are not shown.
    reasons: tuple[tuple[str, int], ...]
    analysed: tuple[AnalysedFlow, ...]

    @property
    def not_received(self) -> int:
        return self.allocated - self.received


@dataclass(frozen=True)
class Consort:
    """CONSORT 2010 flow of a trial (see the module docstring for each rule).

    Attributes
    ----------
    assessed : int or None
        Assessed for eligibility; ``None``: not recorded.
    enrolled, allocated : int
        Participant records, and those allocated to an arm.
    arms : tuple of ArmFlow
        In the order given (the study's arm order).
    timepoints, populations : tuple of str
        Questionnaire timepoints and analysis populations, in order.
    reasons_shown : bool
        Whether withdrawal reasons are listed (they are free text and may name a feature,
        so blinded callers get the counts only).
    as_of : datetime
        The moment windows were judged against.
    """

    assessed: int | None
    enrolled: int
    allocated: int
    arms: tuple[ArmFlow, ...]
    timepoints: tuple[str, ...]
    populations: tuple[str, ...]
    reasons_shown: bool
    as_of: datetime

    @property
    def not_allocated(self) -> int:
        return self.enrolled - self.allocated

    def arm(self, label: str) -> ArmFlow:
        return next(a for a in self.arms if a.arm == label)


def _followup(people: Sequence[ParticipantRecord], timepoints: Sequence[Mapping[str, Any]],
              responded: Mapping[int, frozenset[str]], now: datetime) -> tuple[TimepointFlow, ...]:
    counts = {tp["key"]: Counter() for tp in timepoints}
    # Windows depend only on the local enrolment day: computed once per (zone, day), not
    # once per participant (10,000 participants enrol on a few hundred days).
    known: dict[tuple[str, Any], list] = {}
    for person in people:
        tz = person.timezone or "UTC"
        day = (tz, person.enrolled_at.astimezone(zone(tz)).date())
        windows = known.get(day)
        if windows is None:
            windows = known[day] = timepoint_windows(timepoints, person.enrolled_at, tz)
        answered = responded.get(person.id, frozenset())
        for window in windows:
            if window.key in answered:
                state = "assessed"
            elif window.closes_at > now:
                state = "not_yet_due"
            elif person.withdrawn_at is not None and person.withdrawn_at < window.closes_at:
                state = "withdrew_before"
            else:
                state = "lost"
            counts[window.key][state] += 1
    return tuple(TimepointFlow(key, c["assessed"], c["lost"], c["withdrew_before"], c["not_yet_due"])
                 for key, c in counts.items())


def _reasons(people: Sequence[ParticipantRecord]) -> tuple[tuple[str, int], ...]:
    given = Counter(" ".join(p.reason.split())[:REASON_LENGTH] or "no reason given"
                    for p in people if p.status == "withdrawn" and p.reason is not None)
    return tuple(sorted(given.items(), key=lambda item: (-item[1], item[0])))


def _arm_flow(arm: str, people: Sequence[ParticipantRecord], features: frozenset[str],
              exposed: Mapping[int, frozenset[str]], timepoints, responded, now,
              analysed: Mapping[str, Mapping[str, int]]) -> ArmFlow:
    withdrawn = [p for p in people if p.status == "withdrawn"]
    received = sum(1 for p in people if features <= exposed.get(p.id, frozenset()))
    return ArmFlow(
        arm=arm, allocated=len(people), received=received,
        followup=_followup(people, timepoints, responded, now),
        withdrawn=len(withdrawn),
        withdrawn_by_participant=sum(1 for p in withdrawn if p.withdrawn_by == "participant"),
        withdrawn_by_staff=sum(1 for p in withdrawn if p.withdrawn_by != "participant"),
        data_use_withdrawn=sum(1 for p in people if p.data_use_withdrawn),
        reasons=_reasons(people),
        analysed=tuple(AnalysedFlow(pop, n := int(by_arm.get(arm, 0)), len(people) - n)
                       for pop, by_arm in analysed.items()))


def consort_flow(people: Sequence[ParticipantRecord], *, arms: Sequence[str],
                 arm_features: Mapping[str, Sequence[str]],
                 exposed: Mapping[int, Sequence[str]],
                 timepoints: Sequence[Mapping[str, Any]],
                 responded: Mapping[int, Sequence[str]],
                 analysed: Mapping[str, Mapping[str, int]],
                 now: datetime, assessed: int | None = None,
                 reasons_shown: bool = True) -> Consort:
    """The CONSORT flow of ``people``.

    Parameters
    ----------
    people : sequence of ParticipantRecord
        Every enrolled participant (allocated or not).
    arms : sequence of str
        Arm labels in display order (an arm nobody was allocated to still gets its boxes).
    arm_features : mapping
        Arm label to the names of its features (what "received" needs exposed).
    exposed : mapping
        Participant id to the features whose first exposure is recorded.
    timepoints : sequence of dict
        The study's ``questionnaires.timepoints`` (``key``, ``day``, window days).
    responded : mapping
        Participant id to the timepoint keys with at least one questionnaire answer.
    analysed : mapping
        Population to {arm label: number analysed} (the results document's flow section).
    now : datetime
        Aware instant windows are judged against.
    assessed : int, optional
        Assessed for eligibility, when recorded.
    reasons_shown : bool
        Whether reasons were passed to be listed (``ParticipantRecord.reason``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    unknown = sorted({p.arm for p in people if p.arm is not None} - set(arms))
    if unknown:
        raise ValueError(f"participants allocated to arms not listed in arms: {unknown}")
    exposed = {pid: frozenset(f) for pid, f in exposed.items()}
    responded = {pid: frozenset(t) for pid, t in responded.items()}
    flows = tuple(
        _arm_flow(arm, [p for p in people if p.arm == arm], frozenset(arm_features.get(arm, ())),
                  exposed, timepoints, responded, now, analysed)
        for arm in arms)
    return Consort(assessed=assessed, enrolled=len(people),
                   allocated=sum(1 for p in people if p.arm is not None), arms=flows,
                   timepoints=tuple(tp["key"] for tp in timepoints),
                   populations=tuple(analysed), reasons_shown=reasons_shown, as_of=now)
