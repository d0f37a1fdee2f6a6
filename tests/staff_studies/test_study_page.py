"""The study list and the study page: counts, links, plots, blinding per role, early-trial
states, safety alerts with the acknowledge form, delivery health with the requeue form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hwtrial.models import (
    AuditEntry,
    HomeworkInstance,
    OutboxMessage,
    Participant,
    QuestionnaireResponse,
    SafetyAlert,
    Study,
    utcnow,
)

IMG = re.compile(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="([^"]+)">')


def study_id(session, key):
    return session.scalar(sa.select(Study.id).where(Study.key == key))


def page(client, key):
    answer = client.get(f"/staff/studies/{key}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


def test_study_list_rows_link_to_study_pages_with_counts(app, signed_in, load_study, enrol, session):
    key = load_study("reminder-rct")
    draft = load_study("mrt-reminders", activate=False)
    first, _second = enrol(key), enrol(key)
    session.get(Participant, first).status = "withdrawn"
    session.commit()
    for role in ("coordinator", "admin", "therapist", "statistician"):
        html = signed_in(role)[0].get("/staff/studies").get_data(as_text=True)
        row = re.search(rf'<tr>\s*<th scope="row"><a href="/staff/studies/{key}">.*?</tr>', html, re.S).group(0)
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        assert "active" in cells[0] and cells[2:4] == ["2", "1"], cells
        assert "<time datetime=" in cells[4]  # enrolment is activity
        row = re.search(rf'<tr>\s*<th scope="row"><a href="/staff/studies/{draft}">.*?</tr>', html, re.S).group(0)
        assert re.findall(r"<td>(.*?)</td>", row, re.S)[2:4] == ["0", "0"] and "draft" in row


def test_study_list_is_scoped_as_the_api_scopes_studies(app, load_study, make_user, bearer, client):
    from hwtrial.services import users

    key, other = load_study("reminder-rct"), load_study("mrt-reminders")
    user_id, _ = make_user("coordinator")
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        from hwtrial.models import User

        token = users.issue_token(session, "test", session.get(User, user_id), study_keys=[key]).secret
        session.commit()
    html = client.get("/staff/studies", headers=bearer(token)).get_data(as_text=True)
    assert f"/staff/studies/{key}" in html and f"/staff/studies/{other}" not in html
    assert client.get(f"/staff/studies/{other}", headers=bearer(token)).status_code == 404


def _plots(html):
    alts = IMG.findall(html)
    assert html.count("<img") == len(alts), "every plot is an SVG data URI with an alt text"
    return alts


def titles(html):
    return [re.split(r"[.:]", alt)[0] for alt in _plots(html)]


def test_coordinator_sees_design_enrolment_balance_adherence(signed_in, load_study, enrol, app, session):
    key = load_study("reminder-rct")
    ids = [enrol(key, arm=arm, strata={"site": site, "severity": "mild"})
           for arm, site in (("control", "north"), ("reminders", "south"), ("reminders", "north"))]
    instances = session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id.in_(ids))
                                .order_by(HomeworkInstance.id)).all()
    for i, instance in enumerate(instances[:12]):
        instance.state = "submitted" if i % 3 else "expired"
        instance.submitted_at = utcnow() if i % 3 else None
    session.commit()
    html = page(signed_in("coordinator")[0], key)
    assert "Email reminders" in html and "fixed; at 18:30; on mon, thu" in html  # reminders per arm
    assert "permuted_blocks" in html and "site: north, south, online" in html
    assert "thought_record from day 1 at 19:00, every 3 days × 12" in html
    alts = _plots(html)
    assert [re.split(r"[.:]", a)[0] for a in alts] == ["Enrolment over time", "Balance per stratum",
                                              "Adherence per arm by week due"]
    assert "No data yet" not in " ".join(alts)
    balance = re.search(r"<caption>Participants per arm</caption>.*?</table>", html, re.S).group(0)
    assert re.findall(r'<th scope="row">(\w+)</th><td>(\d+)</td>', balance) == [("control", "1"), ("reminders", "2")]
    strata = re.search(r"<caption>Participants per stratum level and arm</caption>.*?</table>", html, re.S).group(0)
    assert '<th scope="row">site</th><td>north</td><td>1</td><td>1</td>' in strata
    assert '<th scope="row">site</th><td>south</td><td>0</td><td>1</td>' in strata
    assert "Reminder delivery health" in html and "No failed or dead deliveries." in html


@pytest.mark.parametrize("role", ["statistician", "therapist"])
def test_blinded_design_summary(signed_in, load_study, enrol, role):
    key = load_study("reminder-rct")
    enrol(key, arm="reminders")
    html = page(signed_in(role)[0], key)
    assert "Arms are shown by their blinded codes." in html
    arms = re.search(r"<caption>Arms</caption>.*?</table>", html, re.S).group(0)
    assert re.findall(r'<th scope="row">(\w+)</th><td>1</td>', arms) == [("A"), ("B")]
    for revealing in ("Email reminders", "No reminders", "18:30", "reminders</th>", ">control<",
                      "Features", "Reminder delivery health", "Safety alerts"):
        assert revealing not in html, revealing
    if role == "therapist":  # enrolment only, without arms
        assert "Balance" not in html and "Adherence" not in html
        assert titles(html) == ["Enrolment over time"]
    else:
        assert re.search(r'<th scope="row">B</th><td>1</td>', html)


def test_statistician_with_the_unblinding_right_sees_arms(signed_in, load_study, enrol):
    key = load_study("reminder-rct")
    html = page(signed_in("statistician", may_unblind=True)[0], key)
    assert "Email reminders" in html and "Reminder delivery health" not in html


def test_early_trial_states_render(signed_in, load_study, enrol, session):
    key = load_study("reminder-rct")
    coordinator = signed_in("coordinator")[0]
    statistician = signed_in("statistician")[0]
    html = page(coordinator, key)  # no participants
    assert "0 enrolled" in html and len(_plots(html)) == 3 and "No data yet" in html
    page(statistician, key)
    first = enrol(key, arm="control")  # one participant, one arm only
    html = page(coordinator, key)
    assert "1 enrolled" in html and "<th scope=\"row\">reminders</th><td>0</td>" in html
    enrol(key, arm="control")
    for pid in session.scalars(sa.select(Participant.id).where(Participant.study_id == study_id(session, key))):
        session.get(Participant, pid).status = "withdrawn"  # all withdrawn
    session.commit()
    html = page(coordinator, key)
    assert "2 enrolled · 2 withdrawn" in html and first
    page(statistician, key)
    page(signed_in("therapist")[0], key)


def test_factorial_and_unstratified_designs_render(signed_in, load_study, enrol):
    key = load_study("factorial-screening")
    enrol(key)
    html = page(signed_in("coordinator")[0], key)
    assert "Factors" in html and "Reminders: off, Self-review prompt: off" in html
    blinded = page(signed_in("statistician")[0], key)
    assert "Self-review prompt" not in blinded and "C1" in blinded
    mrt = load_study("mrt-reminders")
    html = page(signed_in("coordinator")[0], mrt)
    assert "Not stratified." in html and titles(html)[1] == "Balance per arm"


def _alert(session, key, participant_id):
    sid = study_id(session, key)
    response = QuestionnaireResponse(study_id=sid, participant_id=participant_id, instrument_key="phq9",
                                     timepoint_key="baseline", answers={}, total=20)
    session.add(response)
    session.flush()
    alert = SafetyAlert(study_id=sid, participant_id=participant_id, response_id=response.id,
                        reason="PHQ-9 item 9 answered 2")
    session.add(alert)
    session.flush()
    alert_id = alert.id  # read before COMMIT: a refresh after it would open a write transaction
    session.commit()
    return alert_id


def test_safety_alerts_stand_out_and_are_acknowledged(signed_in, load_study, enrol, session):
    key = load_study("reminder-rct")
    pid = enrol(key)
    alert_id = _alert(session, key, pid)
    coordinator, token, user_id = signed_in("coordinator")
    html = page(coordinator, key)
    assert html.index('id="safety-alerts" class="urgent"') < html.index('id="design-h"')  # at the top
    assert "PHQ-9 item 9 answered 2" in html and "Safety alerts awaiting acknowledgement (1)" in html
    url = f"/staff/studies/{key}/safety-alerts/{alert_id}/acknowledge"
    refused = coordinator.post(url, data={"note": "called"})
    assert refused.status_code == 400 and session.get(SafetyAlert, alert_id).acknowledged_at is None
    session.rollback()  # end the test's read (SQLite: BEGIN IMMEDIATE holds the write lock)
    done = coordinator.post(url, data={"note": "called the participant", "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/staff/studies/{key}#safety-alerts")
    session.expire_all()
    alert = session.get(SafetyAlert, alert_id)
    assert alert.acknowledged_at is not None and alert.acknowledged_by == user_id
    assert session.scalar(sa.select(AuditEntry.action).where(AuditEntry.target == f"safety_alert:{alert_id}"))
    session.rollback()
    assert "Safety alerts awaiting acknowledgement (0)" in page(coordinator, key)
    # Another study's alert id through this study's URL is not found.
    other = load_study("mrt-reminders")
    assert coordinator.post(f"/staff/studies/{other}/safety-alerts/{alert_id}/acknowledge",
                            data={"csrf_token": token}).status_code == 404


def test_delivery_health_shows_failures_and_requeues(signed_in, load_study, enrol, session):
    key = load_study("reminder-rct")
    pid = enrol(key)
    sid, now = study_id(session, key), utcnow()
    rows = {}
    for name, status, error in (("dead", "dead", "550 mailbox unavailable"), ("failing", "pending", "timeout"),
                                ("sent", "sent", None), ("waiting", "pending", None)):
        rows[name] = OutboxMessage(dedupe_key=f"t-{name}", channel="email", payload={"kind": "reminder"},
                                   due_at=now - timedelta(hours=1), status=status, last_error=error,
                                   attempts=5 if error else 0, study_id=sid, participant_id=pid,
                                   sent_at=now if status == "sent" else None)
        session.add(rows[name])
    session.flush()
    ids = {name: row.id for name, row in rows.items()}
    session.commit()
    coordinator, token, _ = signed_in("coordinator")
    html = page(coordinator, key)
    assert 'id="deliveries" aria-labelledby="deliveries-h" class="urgent"' in html
    counts = re.search(r"<caption>Deliveries by state</caption>.*?</table>", html, re.S).group(0)
    assert re.findall(r"<td[^>]*>(\d+)</td>", counts) == ["1", "1", "0", "1", "1", "0"]
    assert "550 mailbox unavailable" in html and "Dead letters (gave up)" in html and "Failing (will retry)" in html
    url = f"/staff/studies/{key}/deliveries/{ids['dead']}/requeue"
    assert coordinator.post(url).status_code == 400  # no CSRF token
    assert coordinator.post(url, data={"csrf_token": token}).status_code == 302
    session.expire_all()
    message = session.get(OutboxMessage, ids["dead"])
    assert message.status == "pending" and message.attempts == 0
    session.rollback()
    sent = f"/staff/studies/{key}/deliveries/{ids['sent']}/requeue"
    assert coordinator.post(sent, data={"csrf_token": token}).status_code == 409
    assert signed_in("statistician")[0].post(url, data={"csrf_token": token}).status_code == 403


def test_reused_aggregates_follow_new_data(signed_in, load_study, enrol, session):
    """The study page reuses its grouped scans only while the study's fingerprints hold."""
    key = load_study("reminder-rct")
    pid = enrol(key, arm="control")
    coordinator = signed_in("coordinator")[0]
    before = titles_and_alts(page(coordinator, key))
    instance = session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                               .order_by(HomeworkInstance.id)).first()
    instance.state, instance.submitted_at = "submitted", utcnow()
    session.commit()
    after = titles_and_alts(page(coordinator, key))
    assert before["Adherence per arm by week due"].endswith("No data yet.")
    assert "control: 1 points, last 100.0%" in after["Adherence per arm by week due"]
    enrol(key, arm="reminders")
    again = page(coordinator, key)
    assert '<th scope="row">reminders</th><td>1</td>' in again


def titles_and_alts(html):
    return {re.split(r"[.:]", alt)[0]: alt for alt in _plots(html)}
