"""The therapist workspace pages (caseload, client, assign tailored work, review, trajectory)
and the tailoring they store: through the Flask client, on every test backend."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hwtrial.models import HomeworkInstance, HomeworkTailoring, Participant, Study, User, utcnow
from hwtrial.services import questionnaires, sessions
from tests.blinding_leaks import revealing_strings

from .conftest import csrf, db

API = "/api/v1/studies/reminder-rct"
STAFF = "/staff/caseload"
CONSENT = {"version": "2.1", "locale": "en"}
TEMPLATE_INTRO = "Use this record for a moment this week when your mood dropped."
TAILORED_INTRO = "Pick a moment from the family dinner on Sunday, when the talk turned to work."


def staff_client(app, user_id: int):
    """A test client holding a staff session cookie (as after signing in)."""
    client = app.test_client()
    with app.app_context():
        session = db(app)
        secret = sessions.open_session(session, timedelta(hours=1), user=session.get(User, user_id))
        session.commit()
    client.set_cookie("hwtrial_session", secret)
    return client


def local(when, zone="UTC") -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def text(answer) -> str:
    return answer.get_data(as_text=True)


@pytest.fixture
def care(app, load_study, make_user, enrol):
    """reminder-rct with therapist A (two clients, one of them withdrawn later) and therapist B (one)."""
    load_study("reminder-rct")
    a, a_token = make_user("therapist", display_name="Dr A")
    b, b_token = make_user("therapist")
    mine = enrol("reminder-rct", therapist_id=a, consent=CONSENT, locale="en", timezone="UTC")
    second = enrol("reminder-rct", therapist_id=a, consent=CONSENT, timezone="UTC")
    theirs = enrol("reminder-rct", therapist_id=b, consent=CONSENT, timezone="UTC")
    return {"a": a, "b": b, "a_token": a_token, "b_token": b_token, "mine": mine, "second": second,
            "theirs": theirs}


def _assign_form(page: str) -> dict:
    """The assign form's fields as a browser would post them unchanged."""
    form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    form.update({m[0]: m[1] for m in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page)})
    return {k: v.replace("&#39;", "'").replace("&amp;", "&").replace("&#34;", '"') for k, v in form.items()}


def assign_via_page(app, therapist_id, pid, **changes):
    staff = staff_client(app, therapist_id)
    page = staff.get(f"{STAFF}/clients/{pid}/assign?template=thought_record")
    assert page.status_code == 200, text(page)
    form = _assign_form(text(page))
    form.update({"due_at": local(utcnow() + timedelta(days=2))}, **changes)
    return staff, staff.post(f"{STAFF}/clients/{pid}/assign", data=form)


def test_caseload_shows_own_clients_with_counts_and_alerts_first(app, care, make_user):
    with app.app_context():
        session = db(app)
        rows = session.scalars(sa.select(HomeworkInstance).where(
            HomeworkInstance.participant_id == care["mine"]).order_by(HomeworkInstance.scheduled_at)).all()
        now = utcnow()
        rows[0].open_at, rows[0].due_at, rows[0].expire_at = now - timedelta(days=3), now - timedelta(hours=1), \
            now + timedelta(hours=5)  # late
        rows[1].open_at, rows[1].due_at, rows[1].expire_at = now - timedelta(hours=2), now + timedelta(hours=5), \
            now + timedelta(hours=9)  # due
        rows[2].state, rows[2].submitted_at, rows[2].submission = "submitted", now, {}  # to review
        participant = session.get(Participant, care["second"])
        study = session.get(Study, participant.study_id)
        answers = {f"phq9_{i}": "1" for i in range(1, 10)} | {"phq9_9": "2"}
        questionnaires.submit(session, participant, study, "baseline", "phq9", answers, now)
        session.commit()
    page = staff_client(app, care["a"]).get(STAFF)
    body = text(page)
    assert page.status_code == 200
    assert "Caseload of Dr A" in body
    assert f"Client {care['mine']}<" in body and f"Client {care['second']}<" in body
    assert f"Client {care['theirs']}<" not in body
    alerts = body.index("Safety alerts awaiting acknowledgement")
    assert alerts < body.index("<table") and f"Client {care['second']}</a> (" in body[alerts:body.index("<table")]
    row = re.search(rf"Client {care['mine']}</a>.*?</tr>", body, re.S).group(0)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    # study, status, due, late, missed, submitted, to review, alerts, last activity
    assert cells[1:8] == ["active", "1", '<strong class="late">1</strong>', "0", "1", "<strong>1</strong>", "none"]
    # the client with an open alert comes first and stands out
    assert body.index(f"Client {care['second']}</a></th>") < body.index(f"Client {care['mine']}</a></th>")
    assert 'class="has-alert"' in body
    # coordinators see every client, or one therapist's; an unknown therapist is a named 404
    coordinator = staff_client(app, make_user("coordinator")[0])
    everyone = text(coordinator.get(STAFF))
    assert all(f"Client {care[k]}<" in everyone for k in ("mine", "second", "theirs"))
    only_b = text(coordinator.get(f"{STAFF}?therapist={care['b']}"))
    assert f"Client {care['theirs']}<" in only_b and f"Client {care['mine']}<" not in only_b
    assert coordinator.get(f"{STAFF}?therapist=999999").status_code == 404
    assert coordinator.get(f"{STAFF}?therapist=x").status_code == 422
    # a therapist cannot look at a colleague's caseload
    assert staff_client(app, care["a"]).get(f"{STAFF}?therapist={care['b']}").status_code == 404
    assert staff_client(app, make_user("statistician")[0]).get(STAFF).status_code == 403


def test_early_states_no_clients_and_a_withdrawn_client(app, care, make_user, client, bearer):
    empty = staff_client(app, make_user("therapist")[0]).get(STAFF)
    assert empty.status_code == 200 and "No clients yet" in text(empty)
    with app.app_context():
        db(app).get(Participant, care["second"]).status = "withdrawn"
        db(app).commit()
    staff = staff_client(app, care["a"])
    assert ">withdrawn<" in text(staff.get(STAFF))
    page = text(staff.get(f"{STAFF}/clients/{care['second']}"))
    assert "This client has withdrawn" in page and "Assign homework</a>" not in page
    assert "This client has withdrawn" in text(staff.get(f"{STAFF}/clients/{care['second']}/assign"))
    form = {"csrf_token": csrf(staff, f"{STAFF}/clients/{care['second']}"), "template": "thought_record",
            "due_at": local(utcnow() + timedelta(days=1))}
    assert staff.post(f"{STAFF}/clients/{care['second']}/assign", data=form).status_code == 409
    answer = client.post(f"{API}/participants/{care['second']}/homework", headers=bearer(care["a_token"]),
                         json={"template": "thought_record", "due_at": (utcnow() + timedelta(days=1)).isoformat()})
    assert answer.status_code == 409 and answer.json["errors"] == {"participant": ["has withdrawn"]}
    # a new client's trajectory: nothing yet, and the page says so
    trajectory = staff.get(f"{STAFF}/clients/{care['mine']}/trajectory")
    assert trajectory.status_code == 200 and "No questionnaires answered yet" in text(trajectory)
    assert text(trajectory).count("data:image/svg+xml") == 3


def test_another_therapists_client_is_not_found_like_a_missing_one(app, care):
    staff = staff_client(app, care["a"])
    with app.app_context():
        theirs = db(app).scalars(sa.select(HomeworkInstance.id).where(
            HomeworkInstance.participant_id == care["theirs"])).first()
    missing = 10**6
    for url in ("/clients/{}", "/clients/{}/assign", "/clients/{}/assign?template=thought_record",
                "/clients/{}/trajectory"):
        other, absent = staff.get(STAFF + url.format(care["theirs"])), staff.get(STAFF + url.format(missing))
        assert other.status_code == absent.status_code == 404
        assert text(other) == text(absent)
    token = csrf(staff, f"{STAFF}/clients/{care['mine']}")
    assert staff.post(f"{STAFF}/clients/{care['theirs']}/assign",
                      data={"csrf_token": token, "template": "thought_record"}).status_code == 404
    other, absent = staff.get(f"{STAFF}/homework/{theirs}"), staff.get(f"{STAFF}/homework/{missing}")
    assert other.status_code == absent.status_code == 404 and text(other) == text(absent)
    assert staff.post(f"{STAFF}/homework/{theirs}", data={"csrf_token": token}).status_code == 404


def test_tailored_homework_is_stored_shown_to_the_client_and_returned_by_the_api(
        app, care, client, bearer, sign_in):
    staff, answer = assign_via_page(app, care["a"], care["mine"], intro=TAILORED_INTRO,
                                    **{"label-situation": "At the family dinner: what happened?"})
    assert answer.status_code == 302, text(answer)
    assert "assigned=" in answer.headers["Location"]
    with app.app_context():
        row = db(app).scalars(sa.select(HomeworkTailoring)).one()
        instance = db(app).get(HomeworkInstance, row.instance_id)
        assert (row.participant_id, row.tailored_by, row.template_key, row.locale) == (
            care["mine"], care["a"], "thought_record", "en")
        assert row.original["intro"] == TEMPLATE_INTRO
        assert row.tailored == {"intro": TAILORED_INTRO,
                                "fields": {"situation": {"label": "At the family dinner: what happened?"}}}
        assert [c["key"] for c in row.changes] == ["intro", "fields.situation.label"]
        assert row.changes[1]["original"] == "Situation"
        assert (instance.origin, instance.assigned_by, instance.state) == ("adhoc", care["a"], "scheduled")
        iid = instance.id
    page = text(staff.get(f"{STAFF}/clients/{care['mine']}?assigned={iid}"))
    assert "Homework assigned." in page and "yes (2 changes)" in page
    # the client reads the tailored texts (and the untouched ones as the template has them)
    browser = sign_in(care["mine"])
    task = text(browser.get(f"/p/tasks/{iid}"))
    assert TAILORED_INTRO in task and TEMPLATE_INTRO not in task
    assert "At the family dinner: what happened?" in task and "Automatic thought" in task
    # and so does the API, with the tailoring in the homework document
    listed = client.get(f"{API}/participants/{care['mine']}/homework", headers=bearer(care["a_token"]))
    mine = [h for h in listed.json if h["id"] == iid][0]
    assert mine["tailoring"]["tailored"]["intro"] == TAILORED_INTRO
    assert mine["tailoring"]["tailored_by"] == care["a"] and mine["assigned_by"] == care["a"]
    assert [h["tailoring"] for h in listed.json if h["id"] != iid] == [None] * (len(listed.json) - 1)


def test_an_unchanged_assignment_stores_no_tailoring(app, care):
    _, answer = assign_via_page(app, care["a"], care["mine"])
    assert answer.status_code == 302
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).select_from(HomeworkTailoring)) == 0
        assert db(app).scalar(sa.select(sa.func.count()).select_from(HomeworkInstance).where(
            HomeworkInstance.origin == "adhoc")) == 1


def test_forms_refuse_a_missing_or_foreign_csrf_token(app, care, sign_in):
    staff = staff_client(app, care["a"])
    form = {"template": "thought_record", "due_at": local(utcnow() + timedelta(days=1)), "intro": "x"}
    assert staff.post(f"{STAFF}/clients/{care['mine']}/assign", data=form).status_code == 400
    other = staff_client(app, care["a"])  # another session of the same therapist: another token
    foreign = csrf(other, f"{STAFF}/clients/{care['mine']}")
    assert staff.post(f"{STAFF}/clients/{care['mine']}/assign",
                      data={**form, "csrf_token": foreign}).status_code == 400
    with app.app_context():
        iid = db(app).scalars(sa.select(HomeworkInstance.id).where(
            HomeworkInstance.participant_id == care["mine"])).first()
        row = db(app).get(HomeworkInstance, iid)
        row.state, row.submitted_at, row.submission = "submitted", utcnow(), {"situation": "s"}
        db(app).commit()
    assert staff.post(f"{STAFF}/homework/{iid}", data={"reviewer_role": "therapist", "usefulness": "5"}
                      ).status_code == 400
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).select_from(HomeworkInstance).where(
            HomeworkInstance.origin == "adhoc")) == 0
        assert db(app).get(HomeworkInstance, iid).therapist_reviewed_at is None


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"due_at": ""}, "due_at", "required"),
    ({"due_at": "tomorrow"}, "due_at", "not a valid date and time"),
    ({"open_at": "2020-01-01T10:00"}, "open_at", "must not be in the past"),
    ({"open_at": "+3", "due_at": "+2"}, "due_at", "must be after open_at"),
    ({"expire_at": "+1"}, "expire_at", "must not be before due_at"),
    ({"due_at": "+400"}, "due_at", "must be within a year"),
    # The ends of the datetime range (due + grace, open - tolerance overflowed: 500).
    ({"due_at": "9999-12-31T23:59"}, "due_at", "must be within a year"),
    ({"open_at": "0001-01-01T00:00"}, "open_at", "must not be in the past"),
    ({"expire_at": "9999-12-31T23:59"}, "expire_at", "must be within two years"),
    ({"intro": "x" * 3001}, "tailoring.intro", "at most 3000 characters"),
    ({"label-situation": ""}, "tailoring.fields.situation.label", "must not be empty"),
    ({"label-emotion": "y" * 301}, "tailoring.fields.emotion.label", "at most 300 characters"),
])
def test_assign_form_names_each_problem_next_to_its_field(app, care, changes, field, message):
    now = utcnow()
    changes = {k: (local(now + timedelta(days=int(v[1:]))) if v.startswith("+") else v) for k, v in changes.items()}
    if "due_at" not in changes:
        changes["due_at"] = local(now + timedelta(days=2))
    _, answer = assign_via_page(app, care["a"], care["mine"], **changes)
    body = text(answer)
    assert answer.status_code == 422
    anchor = field.replace(".", "-")
    assert f'id="e-{anchor}">{message}' in body and f'href="#f-{anchor}"' in body
    assert f'id="f-{anchor}"' in body  # the summary's link has a target
    with app.app_context():
        assert db(app).scalar(sa.select(sa.func.count()).select_from(HomeworkInstance).where(
            HomeworkInstance.origin == "adhoc")) == 0


def test_api_assigns_tailored_and_ad_hoc_work_with_field_named_errors(app, care, client, bearer):
    headers = bearer(care["a_token"])
    due = (utcnow() + timedelta(days=2)).isoformat()
    url = f"{API}/participants/{care['mine']}/homework"
    answer = client.post(url, headers=headers, json={
        "template": "thought_record", "due_at": due,
        "open_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "tailoring": {"intro": TAILORED_INTRO, "fields": {"emotion": {"help": "Say it in your own words."}}}})
    assert answer.status_code == 201, answer.json
    assert answer.json["tailoring"]["changes"] == [
        {"key": "intro", "original": TEMPLATE_INTRO, "tailored": TAILORED_INTRO},
        {"key": "fields.emotion.help", "original": "One word, e.g. sad, anxious, angry, ashamed.",
         "tailored": "Say it in your own words."}]
    bad = client.post(url, headers=headers, json={"template": "thought_record", "due_at": due, "tailoring": {
        "intro": 5, "title": "mine", "fields": {"nope": {"label": "x"}, "emotion": {"colour": "red"}}}})
    assert bad.status_code == 422
    assert bad.json["errors"] == {"tailoring.intro": ["must be text"],
                                  "tailoring.title": ["only ad hoc work has its own title"],
                                  "tailoring.fields.nope": ["unknown field"],
                                  "tailoring.fields.emotion.colour": ["unknown key"]}
    adhoc = client.post(url, headers=headers, json={"template": "adhoc", "due_at": due})
    assert adhoc.status_code == 422 and adhoc.json["errors"] == {"tailoring.intro": ["required for ad hoc work"]}
    adhoc = client.post(url, headers=headers, json={"template": "adhoc", "due_at": due, "tailoring": {
        "title": "Letter to your younger self", "intro": "Write the letter we talked about.",
        "fields": {"response": {"label": "Your letter"}}}})
    assert adhoc.status_code == 201 and adhoc.json["template_key"] == "adhoc"
    assert adhoc.json["tailoring"]["tailored"]["title"] == "Letter to your younger self"
    # the other therapist learns nothing, whatever the body
    assert client.post(url, headers=bearer(care["b_token"]), json={"template": "adhoc"}).status_code == 404


def test_ad_hoc_work_is_done_by_the_client_with_the_therapists_texts(app, care, sign_in):
    staff = staff_client(app, care["a"])
    page = text(staff.get(f"{STAFF}/clients/{care['mine']}/assign?template=adhoc"))
    assert 'name="title"' in page
    form = {**_assign_form(page), "title": "Letter to your younger self", "intro": "Write the letter.",
            "label-response": "Your letter", "due_at": local(utcnow() + timedelta(days=2))}
    answer = staff.post(f"{STAFF}/clients/{care['mine']}/assign", data=form)
    assert answer.status_code == 302, text(answer)
    iid = int(answer.headers["Location"].rsplit("=", 1)[1])
    browser = sign_in(care["mine"])
    task = text(browser.get(f"/p/tasks/{iid}"))
    assert "<h1>Letter to your younger self</h1>" in task and "Your letter" in task
    done = browser.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(browser, f"/p/tasks/{iid}"),
                                                 "response": "Dear me,", "action": "submit"})
    assert done.status_code == 302
    review = text(staff.get(f"{STAFF}/homework/{iid}"))
    assert "Your letter" in review and "Dear me," in review


def _submit_thought_record(browser, iid):
    form = {"situation": "Dinner", "automatic_thought": "They think I failed", "emotion": "ashamed",
            "intensity": "70", "balanced_thought": "They asked because they care", "rerated_intensity": "40",
            "action": "submit"}
    answer = browser.post(f"/p/tasks/{iid}", data={"csrf_token": csrf(browser, f"/p/tasks/{iid}"), **form})
    assert answer.status_code == 302


def test_review_shows_answers_and_records_who_reviewed(app, care, client, bearer, sign_in):
    staff, answer = assign_via_page(app, care["a"], care["mine"], intro=TAILORED_INTRO)
    iid = int(answer.headers["Location"].rsplit("=", 1)[1])
    _submit_thought_record(sign_in(care["mine"]), iid)
    page = text(staff.get(f"{STAFF}/clients/{care['mine']}"))
    assert f'href="/staff/caseload/homework/{iid}"' in page and "to review" in page
    review = staff.get(f"{STAFF}/homework/{iid}")
    body = text(review)
    assert review.status_code == 200 and "They asked because they care" in body and "Record your review" in body
    assert "Tailored for this client" in body and TAILORED_INTRO in body
    token = csrf(staff, f"{STAFF}/homework/{iid}")
    bad = staff.post(f"{STAFF}/homework/{iid}", data={"csrf_token": token, "reviewer_role": "therapist",
                                                       "usefulness": "11", "reflection": "kept"})
    assert bad.status_code == 422 and 'id="e-usefulness"' in text(bad) and ">kept</textarea>" in text(bad)
    bad = staff.post(f"{STAFF}/homework/{iid}", data={"csrf_token": token, "reviewer_role": "boss",
                                                       "usefulness": "5"})
    assert bad.status_code == 422 and 'id="e-reviewer_role"' in text(bad)
    done = staff.post(f"{STAFF}/homework/{iid}", data={"csrf_token": token, "reviewer_role": "client",
                                                        "usefulness": "8", "reflection": "Client spotted it"})
    assert done.status_code == 302
    body = text(staff.get(done.headers["Location"]))
    assert "Review saved." in body and "client-led" in body and "Therapist's review" in body
    with app.app_context():
        row = db(app).get(HomeworkInstance, iid)
        who = db(app).get(User, care["a"])
        therapist_name = who.display_name or who.email
        assert (row.therapist_review_led, row.therapist_reviewed_by, row.therapist_review) == (
            "client", care["a"], {"reflection": "Client spotted it", "usefulness": 8})
        assert row.therapist_reviewed_at is not None
        assert (row.reviewer_role, row.self_review) == (None, None)  # the client's own: untouched
    assert f"recorded by {therapist_name}" in body
    # the API, which the page shares its service with, shows the same (a recorded client-led
    # review is no arm's feature, so the blinded therapist sees it too)
    listed = client.get(f"{API}/participants/{care['mine']}/homework", headers=bearer(care["a_token"])).json
    assert [(h["therapist_review_led"], h["therapist_reviewed_by"], h["reviewer_role"])
            for h in listed if h["id"] == iid] == [("client", care["a"], None)]
    caseload = text(staff.get(STAFF))
    row = re.search(rf"Client {care['mine']}</a>.*?</tr>", caseload, re.S).group(0)
    assert re.findall(r"<td>(.*?)</td>", row, re.S)[6] == "0"  # nothing left to review


def test_trajectory_plots_scores_and_engagement_with_tables(app, care):
    with app.app_context():
        session = db(app)
        participant = session.get(Participant, care["mine"])
        study = session.get(Study, participant.study_id)
        participant.enrolled_at = utcnow() - timedelta(days=20)
        answers = {f"phq9_{i}": "2" for i in range(1, 10)} | {"phq9_9": "0"}
        questionnaires.submit(session, participant, study, "baseline", "phq9", answers, utcnow())
        questionnaires.submit(session, participant, study, "baseline", "gad7",
                              {f"gad7_{i}": "1" for i in range(1, 8)}, utcnow())
        row = session.scalars(sa.select(HomeworkInstance).where(
            HomeworkInstance.participant_id == participant.id).order_by(HomeworkInstance.scheduled_at)).first()
        row.state, row.submitted_at, row.submission = "submitted", utcnow() - timedelta(days=10), {}
        row.set_metrics({"active_seconds": 600.0})
        session.commit()
    page = staff_client(app, care["a"]).get(f"{STAFF}/clients/{care['mine']}/trajectory")
    body = text(page)
    assert page.status_code == 200 and body.count('<img src="data:image/svg+xml') == 3
    assert re.search(r'<th scope="row">PHQ-9</th><td>baseline</td><td>[^<]+</td><td>16</td><td>moderately severe', body)
    assert re.search(r'<th scope="row">GAD-7</th><td>baseline</td><td>[^<]+</td><td>7</td>', body)
    weeks = re.findall(r'<tr><th scope="row">(\d)</th><td>[^<]+</td><td>(\d+)</td><td>(\d+)</td><td>([\d.]+)</td>',
                       body)
    assert [w[0] for w in weeks] == ["1", "2", "3"]
    assert weeks[1] == ("2", "0", "1", "10.0")  # submitted 10 days after enrolment; nothing due yet
    assert 'alt="Questionnaire scores over time.' in body


def test_therapist_pages_show_no_arm(app, load_test_study, make_user, enrol, sign_in):
    """Framed intros, self-review prompts, arm keys and labels never reach a blinded therapist."""
    load_test_study("framing-trial")
    therapist = make_user("therapist")[0]
    pid = enrol("framing-trial", arm="community", locale="en", therapist_id=therapist,
                consent={"version": "1", "locale": "en"}, timezone="UTC")
    staff = staff_client(app, therapist)
    staff_page, answer = assign_via_page(app, therapist, pid)
    assert answer.status_code == 302
    iid = int(answer.headers["Location"].rsplit("=", 1)[1])
    browser = sign_in(pid)
    assert "Many people working on their mood" in text(browser.get(f"/p/tasks/{iid}"))  # framing kept
    _submit_thought_record(browser, iid)
    review = browser.post(f"/p/tasks/{iid}/review", data={
        "csrf_token": csrf(browser, f"/p/tasks/{iid}/review"), "reflection": "I learnt a lot", "usefulness": "7"})
    assert review.status_code == 302
    with app.app_context():
        definition = db(app).scalar(sa.select(Study).where(Study.key == "framing-trial")).definition
    revealing = revealing_strings(definition) | {"Many people working on their mood", "I learnt a lot",
                                                 "What did you learn from this record?", "self-review"}
    pages = [STAFF, f"{STAFF}/clients/{pid}", f"{STAFF}/clients/{pid}/assign?template=thought_record",
             f"{STAFF}/clients/{pid}/trajectory", f"{STAFF}/homework/{iid}"]
    for url in pages:
        answer = staff.get(url)
        assert answer.status_code == 200, url
        body = text(answer)
        found = [r for r in revealing if re.search(rf"(?<![\w-]){re.escape(r)}(?![\w-])", body)]
        assert found == [], (url, found)
    # the review page shows the client's answers but not their own (arm-only) self-review
    assert "They asked because they care" in text(staff.get(f"{STAFF}/homework/{iid}"))
    # a coordinator (who may see arms) sees the self-review
    coordinator = staff_client(app, make_user("coordinator")[0])
    assert "I learnt a lot" in text(coordinator.get(f"{STAFF}/homework/{iid}"))


@pytest.mark.parametrize("name", ("reminder-rct", "therapist-cluster", "factorial-screening"))
def test_workspace_passes_the_blinding_leak_scan(app, client, load_study, make_user, bearer, name):
    """The leak scanner's world (generated data, self-reviews, framings): every workspace page and
    the tailored assignment through the API answer without arm keys, labels, features or external ids."""
    from tests.blinding_leaks import leaks_in_json, leaks_in_text
    from tests.enrolment.test_blinding_leaks import _world

    definition, cookies, values, _, external = _world(app, client, load_study, make_user, bearer, name)
    revealing = revealing_strings(definition)
    pid, iid = values["participant_id"], values["instance_id"]
    client.set_cookie("hwtrial_session", cookies["therapist"])
    template = definition["homework"]["templates"][0]["key"]
    leaks = []
    for url in (STAFF, f"{STAFF}/clients/{pid}", f"{STAFF}/clients/{pid}/assign",
                f"{STAFF}/clients/{pid}/assign?template={template}", f"{STAFF}/clients/{pid}/trajectory",
                f"{STAFF}/homework/{iid}"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        leaks += [f"{url}: {leak}" for leak in leaks_in_text(text(answer), revealing, external)]
    from hwtrial.web.csrf import _sign

    with app.app_context():
        headers = {"X-CSRF-Token": _sign(cookies["therapist"])}
    answer = client.post(f"/api/v1/studies/{values['study_key']}/participants/{pid}/homework", headers=headers,
                         json={"template": template, "due_at": (utcnow() + timedelta(days=2)).isoformat(),
                               "tailoring": {"intro": TAILORED_INTRO}})
    assert answer.status_code == 201, answer.json
    arm_names = {a["key"] for a in definition["arms"]} | {a["label"] for a in definition["arms"]}
    leaks += leaks_in_json(answer.json, revealing, external, revealing_keys=arm_names)
    assert leaks == []
