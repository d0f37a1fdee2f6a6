"""CONSORT numbers from constructed records: every rule of hwtrial.report.consort, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hwtrial.report.consort import ParticipantRecord, consort_flow
from hwtrial.report.diagram import consort_diagram

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TIMEPOINTS = [{"key": "baseline", "day": 0, "window_after_days": 3},
              {"key": "week4", "day": 28, "window_before_days": 3, "window_after_days": 4}]
FEATURES = {"A": ["framing", "reminders"], "B": ["framing", "reminders"]}
# week4 closes at local midnight after day 32: 2026-04-04 00:00 UTC for a UTC participant.
WEEK4_CLOSES = datetime(2026, 4, 4, tzinfo=UTC)


def svg_text(svg: str) -> str:
    from xml.etree import ElementTree

    return " ".join(" ".join(t.split()) for t in ElementTree.fromstring(svg).itertext())


def person(pid, arm, **kw):
    return ParticipantRecord(id=pid, arm=arm, enrolled_at=kw.pop("enrolled_at", T0), **kw)


def flow(people, *, now, exposed=None, responded=None, analysed=None, arms=("A", "B"), **kw):
    return consort_flow(people, arms=list(arms), arm_features=FEATURES, exposed=exposed or {},
                        timepoints=TIMEPOINTS, responded=responded or {},
                        analysed=analysed if analysed is not None else {"itt": {}}, now=now, **kw)


def test_received_needs_every_feature_of_the_arm():
    people = [person(1, "A"), person(2, "A"), person(3, "B"), person(4, None)]
    got = flow(people, now=T0, exposed={1: {"framing", "reminders"}, 2: {"reminders"}, 3: {"framing", "reminders", "x"}})
    assert (got.enrolled, got.allocated, got.not_allocated, got.assessed) == (4, 3, 1, None)
    assert (got.arm("A").allocated, got.arm("A").received, got.arm("A").not_received) == (2, 1, 1)
    assert (got.arm("B").allocated, got.arm("B").received) == (1, 1)


def test_lost_to_follow_up_per_timepoint():
    now = WEEK4_CLOSES + timedelta(hours=1)
    people = [
        person(1, "A"),                                           # answered both
        person(2, "A"),                                           # answered baseline only: lost at week4
        person(3, "A"),                                           # answered nothing: lost at both
        person(4, "A", status="withdrawn", withdrawn_at=T0 + timedelta(days=10), withdrawn_by="staff",
               reason="moved away"),                              # withdrew before week4 closed
        person(5, "A", enrolled_at=now - timedelta(days=2)),      # week4 not yet due, baseline open
        person(6, "A", status="withdrawn", withdrawn_at=WEEK4_CLOSES + timedelta(minutes=5),
               withdrawn_by="participant", reason="no time"),     # withdrew after week4 closed: lost
    ]
    responded = {1: {"baseline", "week4"}, 2: {"baseline"}, 4: {"baseline"}, 6: {"baseline"}}
    got = flow(people, now=now, responded=responded)
    base, week4 = got.arm("A").followup
    assert (base.timepoint, base.assessed, base.lost, base.withdrew_before, base.not_yet_due) == ("baseline", 4, 1, 0, 1)
    assert (week4.timepoint, week4.assessed, week4.lost, week4.withdrew_before, week4.not_yet_due) == ("week4", 1, 3, 1, 1)
    before_close = flow(people, now=WEEK4_CLOSES - timedelta(seconds=1), responded=responded)
    assert before_close.arm("A").followup[1].lost == 0  # the window is still open for everyone


def test_withdrawals_with_reasons_and_data_use():
    people = [person(1, "B", status="withdrawn", withdrawn_at=T0, withdrawn_by="participant", reason="no  time"),
              person(2, "B", status="withdrawn", withdrawn_at=T0, withdrawn_by="participant", reason="no time",
                     data_use_withdrawn=True),
              person(3, "B", status="withdrawn", withdrawn_at=T0, withdrawn_by="staff", reason="x" * 500),
              person(4, "B")]
    arm = flow(people, now=T0).arm("B")
    assert (arm.withdrawn, arm.withdrawn_by_participant, arm.withdrawn_by_staff, arm.data_use_withdrawn) == (3, 2, 1, 1)
    assert arm.reasons == (("no time", 2), ("x" * 200, 1))  # whitespace folded, long text cut


def test_analysed_per_population_from_the_results_counts():
    people = [person(i, "A") for i in range(1, 6)] + [person(9, "B")]
    got = flow(people, now=T0, analysed={"itt": {"A": 4, "B": 1}, "per_protocol": {"A": 2}})
    assert got.populations == ("itt", "per_protocol")
    assert [(p.population, p.analysed, p.excluded) for p in got.arm("A").analysed] == [("itt", 4, 1), ("per_protocol", 2, 3)]
    assert [(p.analysed, p.excluded) for p in got.arm("B").analysed] == [(1, 0), (0, 1)]


def test_one_arm_and_nobody():
    one = consort_flow([person(1, "A")], arms=["A"], arm_features={"A": []}, exposed={}, timepoints=[],
                       responded={}, analysed={"itt": {"A": 1}}, now=T0, assessed=12)
    assert (one.assessed, one.allocated, one.arm("A").received, one.arm("A").followup) == (12, 1, 1, ())
    nobody = flow([], now=T0)
    assert (nobody.enrolled, nobody.allocated) == (0, 0)
    assert [(a.arm, a.allocated, a.withdrawn) for a in nobody.arms] == [("A", 0, 0), ("B", 0, 0)]
    for consort in (one, nobody):
        plot = consort_diagram(consort)
        assert plot.svg.startswith("<svg") and "Allocation" in plot.svg and "Analysis" in plot.svg
    assert "Assessed for eligibility: not recorded" in consort_diagram(nobody).alt


def test_all_withdrawn_and_hidden_reasons():
    people = [person(i, "A", status="withdrawn", withdrawn_at=T0, withdrawn_by="staff") for i in (1, 2)]
    got = flow(people, now=T0 + timedelta(days=60), reasons_shown=False)
    arm = got.arm("A")
    assert (arm.withdrawn, arm.reasons, arm.followup[1].withdrew_before) == (2, (), 2)
    assert "reasons shown only to unblinded readers" in svg_text(consort_diagram(got).svg)


def test_diagram_is_valid_svg_in_the_consort_layout():
    from xml.etree import ElementTree

    people = [person(1, "A", status="withdrawn", withdrawn_at=T0, withdrawn_by="staff", reason="<b>&</b>"),
              person(2, "B")]
    plot = consort_diagram(flow(people, now=T0))
    root = ElementTree.fromstring(plot.svg)  # escaped text: parses
    texts = " ".join(t for t in root.itertext())
    for stage in ("Enrolment", "Allocation", "Follow-up", "Analysis", "Allocated to A (n = 1)",
                  "Allocated to B (n = 1)", "1 x <b>&</b>"):
        assert stage in texts
    assert "Arm A: 1 allocated" in plot.alt and "Arm B: 1 allocated" in plot.alt


def test_refuses_naive_now_and_unknown_arms():
    with pytest.raises(ValueError, match="timezone-aware"):
        flow([], now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="not listed"):
        flow([person(1, "C")], now=T0)
