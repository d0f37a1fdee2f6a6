"""Staff pages for participants: list, participant page, enrol, link, withdraw, unblind.

Every test runs on SQLite and (with HWTRIAL_TEST_DATABASE_URL) on PostgreSQL.
"""

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
    WebSession,
    utcnow,
)

from .people_helpers import CSRF, db, post_form, staff_client

STRATA = {"site": "north", "severity": "mild"}


@pytest.fixture
def study(load_study):
    return load_study("reminder-rct")


@pytest.fixture
def coordinator(app, make_user):
    return staff_client(app, make_user, "coordinator")


def enrol_form(client, key, **fields):
    data = {"external_id": "ext-1", "strata.site": "north", "strata.severity": "mild",
            "timezone": "Europe/London", "locale": "en", "email": "", "therapist_id": "", **fields}
    return post_form(client, f"/staff/studies/{key}/participants/new", data)


def test_no_participants_yet(coordinator, study):
    page = coordinator.get(f"/staff/studies/{study}/participants")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "No participants yet" in text and "Enrol a participant" in text


def test_enrol_shows_link_and_qr_once_and_stores_nothing_of_it(app, coordinator, study):
    answer = enrol_form(coordinator, study, email="P@Example.org")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200, text
    link = re.search(r'<textarea id="link"[^>]*>([^<]+)</textarea>', text).group(1)
    assert "/p/start?token=" in link
    assert 'src="data:image/svg+xml' in text and "Shown once" in text
    assert answer.headers["Cache-Control"] == "no-store"
    with app.app_context():
        participant = db(app).scalar(sa.select(Participant))
        assert participant.external_id == "ext-1" and participant.source == "web"
        assert participant.email == "p@example.org" or participant.email == "P@Example.org"
        audit_text = " ".join(e.payload for e in db(app).scalars(sa.select(AuditEntry)))
        assert link.split("token=")[1] not in audit_text
    # the link works: a second client signs in with it
    other = app.test_client()
    start = other.get(link.replace("http://localhost", ""))
    token = CSRF.search(start.get_data(as_text=True)).group(1)
    signed = other.post("/p/start", data={"token": link.split("token=")[1], "csrf_token": token})
    assert signed.status_code == 302


def test_enrol_validation_rerenders_form_with_problem_next_to_field(app, coordinator, study):
    answer = enrol_form(coordinator, study, **{"strata.site": "mars", "email": "not-an-email",
                                               "timezone": "Mars/Olympus"})
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert 'value="ext-1"' in text  # what was typed is kept
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).select_from(Participant)) == 0
    answer = enrol_form(coordinator, study, **{"strata.site": "mars"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="strata-site-error"' in text and "unknown level &#39;mars&#39;" in text
    assert 'aria-describedby="strata-site-error"' in text
    answer = enrol_form(coordinator, study, timezone="Mars/Olympus")
    assert answer.status_code == 422 and 'id="timezone-error"' in answer.get_data(as_text=True)
    answer = enrol_form(coordinator, study, email="not-an-email")
    assert answer.status_code == 422 and 'id="email-error"' in answer.get_data(as_text=True)


def test_enrol_without_csrf_is_refused(app, coordinator, study):
    answer = coordinator.post(f"/staff/studies/{study}/participants/new",
                              data={"external_id": "x", "strata.site": "north", "strata.severity": "mild"})
    assert answer.status_code == 400
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).select_from(Participant)) == 0


def test_enrol_in_a_draft_study_says_so(coordinator, load_study):
    key = load_study("reminder-rct", activate=False)
    page = coordinator.get(f"/staff/studies/{key}/participants/new")
    assert page.status_code == 200 and "Enrolment opens when the study is active" in page.get_data(as_text=True)


def test_list_search_filter_paginate(app, coordinator, study, enrol):
    ids = [enrol(study, external_id=f"host-{n:03d}", email=f"u{n}@example.org",
                 strata={"site": "south" if n % 2 else "north", "severity": "mild"}) for n in range(55)]
    page = coordinator.get(f"/staff/studies/{study}/participants")
    text = page.get_data(as_text=True)
    assert "55 participants, page 1 of 2" in text and f">P-{ids[-1]}<" in text and f">P-{ids[0]}<" not in text
    second = coordinator.get(f"/staff/studies/{study}/participants?page=2").get_data(as_text=True)
    assert f">P-{ids[0]}<" in second
    found = coordinator.get(f"/staff/studies/{study}/participants?q=host-007").get_data(as_text=True)
    assert "1 participant." in found and "host-007" in found
    found = coordinator.get(f"/staff/studies/{study}/participants?q=u8@example").get_data(as_text=True)
    assert "1 participant." in found
    found = coordinator.get(f"/staff/studies/{study}/participants?q=P-{ids[3]}").get_data(as_text=True)
    assert "1 participant." in found
    south = coordinator.get(f"/staff/studies/{study}/participants?stratum=site%3Dsouth%7Cseverity%3Dmild")
    assert "27 participants" in south.get_data(as_text=True)
    assert coordinator.get(f"/staff/studies/{study}/participants?stratum=nope").status_code == 422
    assert coordinator.get(f"/staff/studies/{study}/participants?page=x").status_code == 422
    assert coordinator.get(f"/staff/studies/{study}/participants?status=gone").status_code == 422
    # past the last page: the last page
    assert f">P-{ids[0]}<" in coordinator.get(f"/staff/studies/{study}/participants?page=999").get_data(as_text=True)


def test_adherence_and_last_activity(app, coordinator, study, enrol):
    pid = enrol(study, external_id="busy")
    now = utcnow()
    with app.app_context():
        rows = db(app).scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                               .order_by(HomeworkInstance.scheduled_at)).all()
        for row, state in zip(rows[:3], ("submitted", "expired", "submitted"), strict=True):
            row.due_at, row.open_at, row.expire_at = now - timedelta(days=2), now - timedelta(days=3), now - timedelta(days=1)
            row.state = state
            if state == "submitted":
                row.submitted_at = now - timedelta(hours=50)
        rows[0].submitted_at = now - timedelta(hours=49)
        db(app).commit()
    text = coordinator.get(f"/staff/studies/{study}/participants").get_data(as_text=True)
    assert "2 of 3 (67%)" in text
    assert (now - timedelta(hours=49)).strftime("%Y-%m-%d %H:%M") in text
    page = coordinator.get(f"/staff/studies/{study}/participants/{pid}").get_data(as_text=True)
    assert "2 of 3 due tasks submitted" in page and "task-expired" in page and "task-submitted" in page


def test_all_withdrawn(coordinator, study, enrol, app):
    pids = [enrol(study) for _ in range(2)]
    for pid in pids:
        url = f"/staff/studies/{study}/participants/{pid}/withdraw"
        answer = post_form(coordinator, url, {"reason": "moved away"},
                           form_url=f"/staff/studies/{study}/participants/{pid}")
        assert answer.status_code == 303
    text = coordinator.get(f"/staff/studies/{study}/participants?status=active").get_data(as_text=True)
    assert "No participant matches these filters" in text
    text = coordinator.get(f"/staff/studies/{study}/participants").get_data(as_text=True)
    assert text.count("status-withdrawn") == 2


def test_participant_page_sections(app, coordinator, study, enrol):
    pid = enrol(study, external_id="host-9", email="nine@example.org",
                consent={"version": "2.1", "method": "paper", "locale": "en", "consented_at": utcnow()})
    with app.app_context():
        session = db(app)
        study_id = session.get(Participant, pid).study_id
        response = QuestionnaireResponse(study_id=study_id, participant_id=pid, instrument_key="phq9",
                                         timepoint_key="baseline", answers={}, total=14.0, band="moderate")
        session.add(response)
        session.flush()
        session.add(SafetyAlert(study_id=study_id, participant_id=pid, response_id=response.id, reason="phq9_9 = 2"))
        session.add(OutboxMessage(dedupe_key="r-1", channel="email", payload={"kind": "reminder"},
                                  due_at=utcnow(), study_id=study_id, participant_id=pid))
        session.commit()
    text = coordinator.get(f"/staff/studies/{study}/participants/{pid}").get_data(as_text=True)
    for expected in ("host-9", "nine@example.org", "thought_record", "baseline", "14.0", "moderate",
                     "Version 2.1", "phq9_9 = 2", "not yet acknowledged", "Reminders and deliveries",
                     "reminder", "Issue a new access link", "Emergency unblinding", "Withdraw participant"):
        assert expected in text, expected


def test_reissue_and_revoke_link(app, coordinator, study, enrol, sign_in):
    pid = enrol(study)
    participant_client = sign_in(pid)
    url = f"/staff/studies/{study}/participants/{pid}"
    answer = post_form(coordinator, url + "/link", {"reason": "lost phone"}, form_url=url)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "/p/start?token=" in text and "data:image/svg+xml" in text
    assert participant_client.get("/p/").status_code == 401  # old session ended
    answer = post_form(coordinator, url + "/link/revoke", {}, form_url=url)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("done=revoked")
    with app.app_context():
        assert db(app).get(Participant, pid).link_generation == 2
        actions = list(db(app).scalars(sa.select(AuditEntry.action)))
        assert "participant.link_reissue" in actions and "participant.link_revoke" in actions
    assert coordinator.post(url + "/link", data={}).status_code == 400  # no CSRF token


def test_withdraw_needs_reason_then_withdraws(app, coordinator, study, enrol, sign_in):
    pid = enrol(study)
    participant_client = sign_in(pid)
    url = f"/staff/studies/{study}/participants/{pid}"
    answer = post_form(coordinator, url + "/withdraw", {"reason": "  "}, form_url=url)
    assert answer.status_code == 422
    assert 'id="withdraw-reason-error"' in answer.get_data(as_text=True)
    answer = post_form(coordinator, url + "/withdraw", {"reason": "moved away", "data_use_withdrawn": "yes"},
                       form_url=url)
    assert answer.status_code == 303
    page = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The participant was withdrawn." in page and "excluded from analysis" in page
    assert "Issue a new access link" not in page
    with app.app_context():
        participant = db(app).get(Participant, pid)
        assert participant.status == "withdrawn" and participant.exclude_data
        assert db(app).scalar(sa.select(sa.func.count()).select_from(WebSession).where(
            WebSession.participant_id == pid, WebSession.revoked_at.is_(None))) == 0
    # the ended session now reads the farewell page (gone, with the study contact), not a sign-in error
    left = participant_client.get("/p/")
    assert left.status_code == 410 and "You have left the study" in left.get_data(as_text=True)
    assert post_form(coordinator, url + "/withdraw", {"reason": "again"}, form_url=url).status_code == 409


def test_emergency_unblind(app, coordinator, study, enrol, make_user):
    pid = enrol(study, arm="reminders")
    url = f"/staff/studies/{study}/participants/{pid}"
    answer = post_form(coordinator, url + "/unblind", {"reason": ""}, form_url=url)
    assert answer.status_code == 422 and 'id="unblind-reason-error"' in answer.get_data(as_text=True)
    answer = post_form(coordinator, url + "/unblind", {"reason": "adverse event"}, form_url=url)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "reminders — Email reminders" in text
    with app.app_context():
        entry = db(app).scalar(sa.select(AuditEntry).where(AuditEntry.action == "participant.unblind"))
        assert "adverse event" in entry.payload
    statistician = staff_client(app, make_user, "statistician")
    page = statistician.get(url).get_data(as_text=True)
    assert "Emergency unblinding" not in page
    assert post_form(statistician, url + "/unblind", {"reason": "x"}, form_url=url).status_code == 403


def test_blinded_statistician_sees_no_arm_no_reminders_no_identifiers(app, study, enrol, make_user):
    pid = enrol(study, arm="reminders", external_id="secret-host-id", email="who@example.org")
    with app.app_context():
        session = db(app)
        session.add(OutboxMessage(dedupe_key="r-2", channel="email", payload={"kind": "reminder"},
                                  due_at=utcnow(), study_id=session.get(Participant, pid).study_id,
                                  participant_id=pid))
        session.commit()
    statistician = staff_client(app, make_user, "statistician")
    listing = statistician.get(f"/staff/studies/{study}/participants").get_data(as_text=True)
    page = statistician.get(f"/staff/studies/{study}/participants/{pid}").get_data(as_text=True)
    for text in (listing, page):
        for leak in (">reminders<", "Email reminders", "No reminders", "Reminders and deliveries",
                         "secret-host-id", "who@example.org", ">Arm<"):
            assert leak not in text, leak
    assert f"P-{pid}" in listing
    # searching by an identifier they may not see finds nothing
    found = statistician.get(f"/staff/studies/{study}/participants?q=secret-host").get_data(as_text=True)
    assert "No participant matches" in found
    assert "Issue a new access link" not in page and "Withdraw participant" not in page
    unblinded = staff_client(app, make_user, "statistician", may_unblind=True)
    listing = unblinded.get(f"/staff/studies/{study}/participants").get_data(as_text=True)
    assert ">Arm<" in listing and ">reminders<" in listing and "secret-host-id" not in listing


def test_blinded_last_activity_leaves_out_events_only_some_arms_produce(app, coordinator, study, enrol,
                                                                        make_user):
    # A reminder click exists only in the reminders arm: its time as the last activity would
    # tell a blinded statistician the arm ("—" in one arm, a time in the other).
    from hwtrial.models import Event

    pid = enrol(study, arm="reminders")
    clicked = utcnow() - timedelta(hours=5)
    with app.app_context():
        session = db(app)
        session.add(Event(study_id=session.get(Participant, pid).study_id, participant_id=pid,
                          client_event_id="click-1", body_sha256="0" * 64, type="reminder_clicked",
                          client_time=clicked, server_time=clicked, payload=None))
        session.commit()
    when = clicked.strftime("%Y-%m-%d %H:%M")
    assert when in coordinator.get(f"/staff/studies/{study}/participants").get_data(as_text=True)
    statistician = staff_client(app, make_user, "statistician")
    assert when not in statistician.get(f"/staff/studies/{study}/participants").get_data(as_text=True)


def test_therapist_sees_own_clients_only(app, study, enrol, make_user):
    therapist_id, _ = make_user("therapist")
    mine = enrol(study, therapist_id=therapist_id, arm="reminders")
    other = enrol(study)
    therapist = staff_client(app, make_user, "therapist", user_id=therapist_id)
    listing = therapist.get(f"/staff/studies/{study}/participants").get_data(as_text=True)
    assert f"P-{mine}" in listing and f"P-{other}" not in listing and ">Arm<" not in listing
    assert therapist.get(f"/staff/studies/{study}/participants/{mine}").status_code == 200
    assert therapist.get(f"/staff/studies/{study}/participants/{other}").status_code == 404
    page = therapist.get(f"/staff/studies/{study}/participants/{mine}").get_data(as_text=True)
    assert "Reminders and deliveries" not in page and ">reminders<" not in page
    assert therapist.get(f"/staff/studies/{study}/participants/new").status_code == 403


def test_other_studies_participants_are_not_found(app, coordinator, study, load_study, enrol):
    other_key = load_study("factorial-screening")
    pid = enrol(other_key, strata={"severity": "mild", "prior_therapy": "no"})
    assert coordinator.get(f"/staff/studies/{study}/participants/{pid}").status_code == 404
    assert coordinator.get(f"/staff/studies/{study}/participants/999999").status_code == 404
    assert coordinator.get("/staff/studies/no-such-study/participants").status_code == 404
    url = f"/staff/studies/{study}/participants/{pid}/withdraw"
    assert post_form(coordinator, url, {"reason": "x"}, form_url=f"/staff/studies/{study}/participants").status_code == 404


def test_anonymous_and_participants_are_refused(app, study, enrol, sign_in):
    pid = enrol(study)
    signed_out = app.test_client().get(f"/staff/studies/{study}/participants")
    assert signed_out.status_code == 302 and "/login?next=" in signed_out.headers["Location"]
    assert sign_in(pid).get(f"/staff/studies/{study}/participants/{pid}").status_code == 403


def test_enrol_with_therapist_and_paper_consent(app, coordinator, study, make_user):
    therapist_id, _ = make_user("therapist", display_name="Dr Tess")
    form = coordinator.get(f"/staff/studies/{study}/participants/new").get_data(as_text=True)
    assert f'<option value="{therapist_id}">Dr Tess' in form
    answer = enrol_form(coordinator, study, therapist_id=str(therapist_id), consent_taken="yes")
    assert answer.status_code == 200, re.findall(r'field-error[^>]*>([^<]+)', answer.get_data(as_text=True))
    with app.app_context():
        participant = db(app).scalar(sa.select(Participant))
        assert participant.therapist_id == therapist_id
    page = coordinator.get(f"/staff/studies/{study}/participants/{participant.id}").get_data(as_text=True)
    assert "Dr Tess" in page and "Version 2.1 (en, paper)" in page
    therapist = staff_client(app, make_user, "therapist", user_id=therapist_id)
    assert therapist.get(f"/staff/studies/{study}/participants/{participant.id}").status_code == 200
    # the same external id again with the same strata: the stored enrolment, nothing new
    again = enrol_form(coordinator, study)
    assert again.status_code == 200 and "was already enrolled" in again.get_data(as_text=True)
    other = enrol_form(coordinator, study, **{"strata.site": "south"})
    assert other.status_code == 409 and "enrolled with other strata" in other.get_data(as_text=True)
    not_a_therapist = enrol_form(coordinator, study, external_id="ext-2", therapist_id=str(coordinator.user_id))
    assert not_a_therapist.status_code == 422
    assert 'id="therapist_id-error"' in not_a_therapist.get_data(as_text=True)


def test_client_self_review_hidden_from_blinded_staff(app, coordinator, study, enrol, make_user):
    pid = enrol(study, arm="reminders")
    now = utcnow()
    with app.app_context():
        row = db(app).scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid)
                              .order_by(HomeworkInstance.scheduled_at)).first()
        row.state, row.submitted_at = "submitted", now
        row.reviewer_role, row.reviewed_at, row.self_review = "client", now, {"usefulness": 7}
        db(app).commit()
    url = f"/staff/studies/{study}/participants/{pid}"
    assert "by client" in coordinator.get(url).get_data(as_text=True)
    statistician = staff_client(app, make_user, "statistician")
    page = statistician.get(url).get_data(as_text=True)
    assert "by client" not in page and "task-reviewed" not in page and "task-submitted" in page
