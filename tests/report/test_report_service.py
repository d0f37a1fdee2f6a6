"""CONSORT numbers of a real study in the database, built through the API (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hwtrial.auth.principal import Principal
from hwtrial.models import Participant, QuestionnaireResponse, Study, utcnow
from hwtrial.services.report import consort_for
from hwtrial.services.results import build_results
from tests.enrolment.helpers import rct

KEY = "reminder-rct"


@pytest.fixture
def trial(app, client, load_study, make_user, bearer):
    """Five participants enrolled through the API, 40 days ago: p1 and p2 asked for their
    features, p3 withdrew on day 10 ("moved away"), p4 withdrew today with data use; answers:
    p1 baseline and week4, p2, p3 and p4 baseline, p5 nothing."""
    load_study(KEY)
    coordinator = bearer(make_user("coordinator")[1])
    ids = [rct(client, coordinator, f"svc-{i}", site="north" if i % 2 else "south").json["id"]
           for i in range(1, 6)]
    for pid in ids[:2]:
        assert client.get(f"/api/v1/studies/{KEY}/participants/{pid}/features", headers=coordinator).status_code == 200
    for pid, body in ((ids[2], {"reason": "moved away"}),
                      (ids[3], {"reason": "no longer  interested", "data_use_withdrawn": True})):
        answer = client.post(f"/api/v1/studies/{KEY}/participants/{pid}/withdraw", json=body, headers=coordinator)
        assert answer.status_code == 200, answer.json
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        study = session.scalar(sa.select(Study).where(Study.key == KEY))
        start = utcnow() - timedelta(days=40)
        for person in session.scalars(sa.select(Participant).where(Participant.id.in_(ids))):
            person.enrolled_at, person.timezone = start, "UTC"
            if person.id == ids[2]:
                person.withdrawn_at = start + timedelta(days=10)
        answered = {ids[0]: ("baseline", "week4"), ids[1]: ("baseline",), ids[2]: ("baseline",),
                    ids[3]: ("baseline",)}
        for pid, timepoints in answered.items():
            for tp in timepoints:
                session.add(QuestionnaireResponse(study_id=study.id, participant_id=pid, instrument_key="phq9",
                                                  timepoint_key=tp, answers={}, total=10.0))
        session.commit()
    return ids


def _total(consort, attribute):
    return sum(getattr(arm, attribute) for arm in consort.arms)


def _followup(consort, timepoint):
    i = consort.timepoints.index(timepoint)
    rows = [arm.followup[i] for arm in consort.arms]
    return tuple(sum(getattr(r, k) for r in rows) for k in ("assessed", "lost", "withdrew_before", "not_yet_due"))


def test_consort_numbers_from_the_database(app, trial):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        consort = consort_for(session, None, KEY)
        doc = build_results(session, None, KEY, sections="flow")
    assert (consort.assessed, consort.enrolled, consort.allocated) == (None, 5, 5)
    assert [a.arm for a in consort.arms] == ["control", "reminders"]
    assert _total(consort, "received") == 2
    assert consort.timepoints == ("baseline", "week4", "week8")
    assert _followup(consort, "baseline") == (4, 1, 0, 0)
    # p3 withdrew before week4's window closed; p2, p5 and p4 (who withdrew after it closed) are lost
    assert _followup(consort, "week4") == (1, 3, 1, 0)
    assert _followup(consort, "week8") == (0, 0, 0, 5)
    assert (_total(consort, "withdrawn"), _total(consort, "withdrawn_by_staff"),
            _total(consort, "data_use_withdrawn")) == (2, 2, 1)
    reasons = sorted(r for arm in consort.arms for r in arm.reasons)
    assert reasons == [("moved away", 1), ("no longer interested", 1)]
    flow = {r["arm"]: r for r in doc["sections"]["flow"]["arms"]}
    for arm in consort.arms:
        analysed = {a.population: a.analysed for a in arm.analysed}
        assert analysed == {"itt": flow[arm.arm]["analysed_itt"],
                            "per_protocol": flow[arm.arm]["analysed_per_protocol"]}
    assert sum(a.analysed[0].analysed for a in consort.arms) == 4  # p4 withdrew data use


def test_blinded_flow_has_codes_and_no_reasons(app, trial):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        blinded = consort_for(session, Principal(role="statistician"), KEY)
        open_ = consort_for(session, None, KEY)
    assert [a.arm for a in blinded.arms] == ["A", "B"]
    assert not blinded.reasons_shown and all(a.reasons == () for a in blinded.arms)
    # the same numbers under other names
    assert [(a.allocated, a.received, a.withdrawn, a.followup) for a in blinded.arms] == \
           [(a.allocated, a.received, a.withdrawn, a.followup) for a in open_.arms]


def test_report_and_study_page_read_one_series(app, make_trial):
    """Enrolment, balance and weekly adherence of the report and of the staff study page come
    from one service (services.arm_series) and agree with the generated rows."""
    from collections import Counter

    from hwtrial.services import report
    from hwtrial.services.arm_series import arm_series
    from hwtrial.services.study_dashboard import study_dashboard

    data = make_trial("reminder-rct", n=60, seed=4)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        study = session.scalar(sa.select(Study).where(Study.key == KEY))
        series = arm_series(session, study)
        arms = Counter(a["arm_key"] for a in data.allocations)
        assert Counter({arm: n for _, arm, n in series.enrolment if arm}) == arms
        closed = [i for i in data.instances if i["state"] in ("submitted", "expired")]
        assert sum(n for _, _, n, _ in series.adherence) == len(closed)
        assert sum(done for *_, done in series.adherence) == sum(i["state"] == "submitted" for i in closed)
        principal = Principal(role="statistician")  # blinded: codes on both
        page = study_dashboard(session, principal, study)
        labels = {a["key"]: a["code"] for a in study.definition["arms"]}
        doc = build_results(session, principal, KEY, sections="flow")
        plots = report._report_data(session, study, doc, labels)
    assert {arm: len(days) for arm, days in plots.enrolled.items()} == {
        arm: n for arm, n in page.balance.items() if arm in plots.arms}
    assert {arm: [(w, done / n) for w, n, done in rows if n] for arm, rows in plots.weekly.items()} == page.adherence
    for factor, level, counts in page.strata_balance:
        if level in plots.strata.get(factor, {}):
            assert plots.strata[factor][level] == {a: counts[a] for a in plots.arms}
