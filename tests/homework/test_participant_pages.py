"""Participant pages without JavaScript: consent, baseline, home, task, draft, submit, self-review."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from hwtrial.models import (
    AuditEntry,
    ConsentRecord,
    HomeworkInstance,
    Participant,
    QuestionnaireResponse,
)

from .conftest import csrf, db

GOOD = {"situation": "Meeting at work", "automatic_thought": "They think I am useless",
        "emotion": "anxious", "intensity": "80", "balanced_thought": "One comment is not a verdict",
        "rerated_intensity": "40"}
PHQ9_OK = {f"phq9_{i}": "1" for i in range(1, 10)} | {"phq9_9": "0"}


def answer_baseline(client) -> None:
    """Consent, then answer every baseline questionnaire the home page redirects to."""
    client.post("/p/consent", data={"csrf_token": csrf(client, "/p/consent"), "agree": "yes"})
    for _ in range(5):
        answer = client.get("/p/")
        if answer.status_code == 200:
            return
        url = answer.headers["Location"]
        page = client.get(url).get_data(as_text=True)
        items = sorted(set(re.findall(r'name="((?:phq9|gad7)_\d)"', page)))
        assert client.post(url, data={"csrf_token": csrf(client, url), **dict.fromkeys(items, "0")}
                           ).status_code == 302
    raise AssertionError("baseline questionnaires never ended")


def started(load_study, enrol, sign_in, shift_past, study="reminder-rct", **kwargs):
    load_study(study)
    pid = enrol(study, **kwargs)
    shift_past(pid, "open_at")  # the day-1 task opened an hour ago
    client = sign_in(pid)
    answer_baseline(client)
    return pid, client


def first_open(instances, pid) -> int:
    return next(r["id"] for r in instances(pid) if r["state"] in ("scheduled", "delivered", "opened", "started"))


def test_consent_is_stored_with_the_hash_of_the_text_shown(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct", locale="es")
    client = sign_in(pid)
    assert client.get("/p/").headers["Location"].endswith("/p/consent")
    page = client.get("/p/consent").get_data(as_text=True)
    assert "Acepto participar en este estudio" in page and 'lang="es"' in page
    assert client.post("/p/consent", data={"csrf_token": csrf(client, "/p/consent")}).status_code == 422
    assert client.post("/p/consent", data={"agree": "yes"}).status_code == 400  # no CSRF token
    assert client.post("/p/consent", data={"csrf_token": csrf(client, "/p/consent"), "agree": "yes"}
                       ).status_code == 302
    with app.app_context():
        record = db(app).scalar(sa.select(ConsentRecord).where(ConsentRecord.participant_id == pid))
        text = ("Acepto participar en este estudio sobre las tareas de terapia. Puedo retirarme en "
                "cualquier momento sin que afecte mi atención.")
        assert (record.version, record.locale, record.method) == ("2.1", "es", "web")
        assert record.text_sha256 == hashlib.sha256(text.encode()).hexdigest()
    # after consent, the baseline questionnaires come first
    assert "/p/questionnaires/baseline/phq9" in sign_in(pid).get("/p/").headers["Location"]


def test_baseline_questionnaires_are_scored_and_stored(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    client = sign_in(pid)
    answer_baseline(client)
    with app.app_context():
        rows = db(app).scalars(sa.select(QuestionnaireResponse).where(
            QuestionnaireResponse.participant_id == pid)).all()
        assert sorted((r.instrument_key, r.total, r.band, r.in_window) for r in rows) == [
            ("gad7", 0, "minimal", True), ("phq9", 0, "minimal", True)]


def test_task_in_arm_framing_submit_and_self_review(app, load_test_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_test_study, enrol, sign_in, shift_past, study="framing-trial", arm="community")
    iid = first_open(instances, pid)
    page = client.get(f"/p/tasks/{iid}").get_data(as_text=True)
    assert "Many people working on their mood are filling in thought records" in page
    assert 'for="f-situation"' in page and 'id="f-situation"' in page  # labelled fields
    answer = client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"),
                                                  "action": "submit", **GOOD})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/p/tasks/{iid}/review")
    review = client.get(f"/p/tasks/{iid}/review").get_data(as_text=True)
    assert "What did you learn from this record?" in review
    bad = client.post(f"/p/tasks/{iid}/review", data={"csrf_token": csrf(client, f"/p/tasks/{iid}/review"),
                                                      "reflection": "x", "usefulness": "11"})
    assert bad.status_code == 422 and "from 0 to 10" in bad.get_data(as_text=True)
    done = client.post(f"/p/tasks/{iid}/review", data={
        "csrf_token": csrf(client, f"/p/tasks/{iid}/review"), "usefulness": "7",
        "reflection": "Writing the balanced thought calmed me down more than I expected it would."})
    assert done.status_code == 302 and done.headers["Location"].endswith("/done")
    row = next(r for r in instances(pid) if r["id"] == iid)
    assert row["state"] == "submitted" and row["reviewer_role"] == "client" and not row["late"]
    assert row["submission"]["intensity"] == 80 and row["draft"] is None
    assert row["metrics"]["self_review_depth"] == 2 and row["metrics"]["words"] > 10
    assert all(row[f"{s}_at"] is not None for s in ("delivered", "opened", "started", "submitted"))
    assert client.get(f"/p/tasks/{iid}").status_code == 409  # submitted once only


def test_failing_submission_names_each_field_and_keeps_the_draft(app, load_study, enrol, sign_in, shift_past,
                                                                  instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    typed = {**GOOD, "intensity": "180", "emotion": ""}
    answer = client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"),
                                                  "action": "submit", **typed})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'href="#f-intensity"' in page and 'href="#f-emotion"' in page
    assert "from 0 to 100" in page and "This answer is required." in page
    assert 'aria-invalid="true"' in page and "Meeting at work" in page
    # the draft survived the refused submission: a reload shows it
    assert "Meeting at work" in client.get(f"/p/tasks/{iid}").get_data(as_text=True)
    row = next(r for r in instances(pid) if r["id"] == iid)
    assert row["state"] == "started" and row["draft"]["intensity"] == ["180"]


def test_no_js_save_draft_button_and_reload(load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    answer = client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"),
                                                  "action": "draft", "situation": "On the bus"})
    assert answer.status_code == 302 and "saved=1" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Draft saved" in page and "On the bus</textarea>" in page


def test_autosave_endpoint_answers_json(load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    answer = client.post(f"/p/tasks/{iid}/draft", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"),
                                                        "intensity": "300", "emotion": "sad"})
    assert answer.status_code == 200
    assert answer.json == {"saved": True, "problems": {"intensity": ["must be an integer between 0 and 100"]}}


def test_someone_elses_task_is_not_found(load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    other = enrol("reminder-rct")
    shift_past(other, "open_at")
    theirs = first_open(instances, other)
    token = csrf(client, f"/p/tasks/{first_open(instances, pid)}")
    assert client.get(f"/p/tasks/{theirs}").status_code == 404
    for path in ("", "/draft", "/review"):
        assert client.post(f"/p/tasks/{theirs}{path}", data={"csrf_token": token, **GOOD,
                                                             "action": "submit"}).status_code == 404
    assert client.get(f"/p/tasks/{theirs}/done").status_code == 404
    assert all(r["draft"] is None and r["submission"] is None for r in instances(other))


def test_expired_task_is_gone(app, load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    token = csrf(client, f"/p/tasks/{iid}")
    shift_past(pid, "expire_at")
    answer = client.get(f"/p/tasks/{iid}")
    assert answer.status_code == 410 and "This task has expired" in answer.get_data(as_text=True)
    assert client.post(f"/p/tasks/{iid}", data={"csrf_token": token, **GOOD, "action": "submit"}
                       ).status_code == 410


def test_late_submission_is_flagged(load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    shift_past(pid, "due_at")  # due an hour ago; expiry is 24 h after the due time
    answer = client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"),
                                                  "action": "submit", **GOOD})
    assert answer.status_code == 302
    assert next(r for r in instances(pid) if r["id"] == iid)["late"] is True


def test_spanish_pages(load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past, locale="es")
    home = client.get("/p/").get_data(as_text=True)
    assert "Por hacer ahora" in home and 'lang="es"' in home and "Dejar el estudio" in home
    assert "Registro de pensamientos" in home  # the task's own (localised) name, not its key
    iid = first_open(instances, pid)
    task = client.get(f"/p/tasks/{iid}").get_data(as_text=True)
    assert "Registro de pensamientos" in task and "Guardar borrador" in task
    bad = client.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(client, f"/p/tasks/{iid}"),
                                               "action": "submit", "intensity": "x"})
    assert "Escriba un número entero entre 0 y 100." in bad.get_data(as_text=True)


def test_accept_language_when_the_record_has_no_locale(app, load_study, enrol, sign_in):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    with app.app_context():
        db(app).get(Participant, pid).locale = None
        db(app).commit()
    client = sign_in(pid)
    page = client.get("/p/consent", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert "Antes de empezar" in page.get_data(as_text=True)


def test_withdrawn_participant_has_no_tasks(app, load_study, enrol, sign_in, shift_past, instances):
    pid, client = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    left = client.post("/p/leave", data={"csrf_token": csrf(client, "/p/leave"), "reason": "too busy"})
    assert left.status_code == 200 and "You have left the study" in left.get_data(as_text=True)
    # Leaving ended the session: nothing more can be read or stored with it.
    assert client.get("/p/").status_code == 401
    assert client.get(f"/p/tasks/{iid}").status_code == 401
    with app.app_context():
        assert db(app).get(Participant, pid).status == "withdrawn"
        assert db(app).scalar(sa.select(sa.func.count()).select_from(HomeworkInstance).where(
            HomeworkInstance.participant_id == pid, HomeworkInstance.state != "expired")) == 0
        actions = db(app).scalars(sa.select(AuditEntry.action)).all()
        assert {"participant.consent", "participant.withdraw"} <= set(actions)


def test_tasks_wait_for_consent(load_study, enrol, sign_in, shift_past, instances):
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    shift_past(pid, "open_at")
    client = sign_in(pid)
    iid = first_open(instances, pid)
    answer = client.get(f"/p/tasks/{iid}")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/p/consent")
    assert next(r for r in instances(pid) if r["id"] == iid)["opened_at"] is None


def test_withdrawal_revokes_sessions_and_links(app, client, load_study, enrol, sign_in, shift_past,
                                               instances, make_user, bearer):
    """Regression: after withdrawal the link still exchanged and old sessions still stored answers."""
    from hwtrial.services.enrolment import participant_link

    pid, browser = started(load_study, enrol, sign_in, shift_past)
    iid = first_open(instances, pid)
    with app.test_request_context():
        token = participant_link(db(app).get(Participant, pid)).split("token=")[1]
        db(app).rollback()
    form = {"csrf_token": csrf(browser, f"/p/tasks/{iid}"), **GOOD}
    coord = bearer(make_user("coordinator")[1])
    url = f"/api/v1/studies/reminder-rct/participants/{pid}/withdraw"
    assert client.post(url, json={"reason": "asked to", "data_use_withdrawn": True}, headers=coord).status_code == 200
    # The revoked session stores nothing; its task links answer with the farewell page (410).
    refused = browser.post(f"/p/tasks/{iid}", data=form)
    assert refused.status_code == 410 and "You have left the study" in refused.get_data(as_text=True)
    assert browser.post(f"/p/tasks/{iid}/draft", data=form).status_code == 410
    fresh = app.test_client()
    page = fresh.get(f"/p/start?token={token}")  # the old link: the farewell page, no Continue button
    assert "You have left the study" in page.get_data(as_text=True) and 'name="token"' not in page.get_data(as_text=True)
    other = fresh.get("/p/start?token=not-a-link")  # a form with this browser's CSRF token
    assert fresh.post("/p/start", data={"token": token, "csrf_token": csrf_from_page(other)}).status_code == 403
    assert next(r for r in instances(pid) if r["id"] == iid)["state"] == "expired"
    with app.app_context():
        assert db(app).get(Participant, pid).link_generation == 1


def csrf_from_page(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def test_one_guard_refuses_every_write_of_a_withdrawn_participant(app, load_study, enrol):
    """Even with a session that somehow survived, the services store nothing after withdrawal."""
    from hwtrial.errors import ServiceError
    from hwtrial.models import HomeworkInstance, Study, utcnow
    from hwtrial.services import participant_flow, questionnaires, withdrawal

    load_study("reminder-rct")
    pid = enrol("reminder-rct", consent={"version": "2.1", "locale": "en"})
    with app.app_context():
        session = db(app)
        participant, study = session.get(Participant, pid), session.scalar(sa.select(Study))
        instance = session.scalar(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == pid))
        withdrawal.withdraw(session, "test", study, participant, reason="left")
        writes = [lambda: questionnaires.submit(session, participant, study, "baseline", "phq9", PHQ9_OK, utcnow()),
                  lambda: participant_flow.save_draft(session, participant, instance, GOOD, utcnow()),
                  lambda: participant_flow.submit(session, participant, instance, GOOD, utcnow()),
                  lambda: participant_flow.give_consent(session, participant, "en", utcnow())]
        for write in writes:
            with pytest.raises(ServiceError) as refused:
                write()
            assert refused.value.status == 409


def test_questionnaires_wait_for_consent(app, load_study, enrol, sign_in):
    """Regression: questionnaire answers were stored before consent (only the task view checked)."""
    from hwtrial.errors import ServiceError
    from hwtrial.models import Study, utcnow
    from hwtrial.services import questionnaires

    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    client = sign_in(pid)
    url = "/p/questionnaires/baseline/phq9"
    token = csrf(client, "/p/consent")
    for answer in (client.get(url), client.post(url, data={"csrf_token": token, **PHQ9_OK})):
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/p/consent")
    events = client.post("/api/v1/studies/reminder-rct/events", json={"events": [
        {"id": "e-1", "type": "opened", "client_time": "2026-03-01T09:00:00Z"}]},
        headers={"X-CSRF-Token": token})
    assert events.status_code == 403 and "consent" in events.json["errors"]
    with app.app_context():
        session = db(app)
        assert session.scalar(sa.select(sa.func.count()).select_from(QuestionnaireResponse)) == 0
        participant, study = session.get(Participant, pid), session.scalar(sa.select(Study))
        with pytest.raises(ServiceError) as refused:
            questionnaires.submit(session, participant, study, "baseline", "phq9", PHQ9_OK, utcnow())
        assert refused.value.status == 403


def test_head_answers_like_get_on_pages_that_also_take_a_form(app, client, load_study, enrol, sign_in):
    """HEAD (uptime checks, link previews) is a read: it answered 400 "the form expired" on every
    GET+POST page because the view took any method but GET for the form's POST."""
    load_study("reminder-rct")
    pid = enrol("reminder-rct")
    participant = sign_in(pid)
    for browser, url in [(client, "/login"), (client, "/p/start?token=not-a-token"),
                         (participant, "/p/consent"), (participant, "/p/settings"), (participant, "/p/leave")]:
        get, head = browser.get(url), browser.head(url)
        assert (url, head.status_code) == (url, get.status_code), head.get_data(as_text=True)
        assert head.get_data() == b""
