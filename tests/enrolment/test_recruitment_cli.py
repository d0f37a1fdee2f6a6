"""Prolific entry and completion redirect; ``hwtrial allocation verify|export``."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from hwtrial.models import Allocation, AuditEntry, Participant

from .helpers import enrol, rct

STRATA = "&site=online&severity=severe"


def entry(app, study="reminder-rct", pid="pp-1", session_id="x-1", token=None):
    """The Prolific study URL with the platform's placeholders filled in."""
    from hwtrial.services.recruitment import entry_token
    from hwtrial.services.studies import get_study

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        token = token if token is not None else entry_token(get_study(session, None, study))
    return f"/r/{study}?PROLIFIC_PID={pid}&STUDY_ID=s-9&SESSION_ID={session_id}&entry={token}"


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def enter(client, url):
    """GET the Continue page, then POST its form (as the participant's browser does)."""
    page = client.get(url)
    if page.status_code != 200:
        return page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.get_data(as_text=True)))
    return client.post(url.split("?")[0], data=fields)


def test_prolific_entry_enrols_once_and_signs_in(app, client, load_study):
    # No ``session`` fixture: its app context would carry ``g`` from one request to the next.
    load_study("reminder-rct")
    missing = client.get(entry(app))
    assert missing.status_code == 422
    assert b"strata.site" in missing.data and b"strata.severity" in missing.data
    page = client.get(entry(app) + STRATA)
    # GET never signs in (login CSRF): it only offers the Continue form.
    assert page.status_code == 200 and "hwtrial_session" not in page.headers.get("Set-Cookie", "")
    first = enter(client, entry(app) + STRATA)
    assert first.status_code == 302 and first.headers["Location"].endswith("/p/")
    assert "hwtrial_session" in first.headers.get("Set-Cookie", "")
    home = client.get("/p/")  # signed in: the participant app answers (next step: consent)
    assert home.status_code == 200 or "/p/consent" in home.headers["Location"]
    again = enter(app.test_client(), entry(app) + STRATA)  # another browser, same Prolific submission
    assert again.status_code == 302
    with app.app_context():
        [p] = app.extensions["hwtrial"].db.session.scalars(sa.select(Participant)).all()
    assert (p.external_id, p.source, p.source_info["study_id"]) == ("pp-1", "prolific", "s-9")
    done = client.get("/p/complete")
    assert done.status_code == 302
    assert done.headers["Location"] == "https://app.prolific.com/submissions/complete?cc=C1A2B3C4"


def test_prolific_entry_needs_the_pid(app, client, load_study):
    load_study("reminder-rct")
    assert client.get(entry(app, pid="") + STRATA).status_code == 422
    assert client.get(entry(app, session_id="") + STRATA).status_code == 422


def test_post_without_csrf_signs_nobody_in(app, client, load_study):
    load_study("reminder-rct")
    url = entry(app) + STRATA
    forged = client.post(url)
    assert forged.status_code == 400 and "hwtrial_session" not in forged.headers.get("Set-Cookie", "")
    with app.app_context():
        assert app.extensions["hwtrial"].db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0


def test_entry_needs_a_recruitment_section_and_the_token(app, client, load_study):
    load_study("reminder-rct")
    load_study("therapist-cluster")  # no recruitment section
    unknown = client.get("/r/no-such-study?PROLIFIC_PID=a&SESSION_ID=b")
    assert unknown.status_code == 404
    for url in (entry(app, study="therapist-cluster", token="x"), entry(app, token="wrong") + STRATA,
                entry(app, token="") + STRATA):
        answer = client.get(url)
        key = url.split("/")[2].split("?")[0]
        assert answer.status_code == 404
        assert answer.get_data(as_text=True) == unknown.get_data(as_text=True).replace("no-such-study", key)
        assert client.post(url.split("?")[0], data={"entry": "x"}).status_code in (400, 404)


def test_reentry_needs_the_recorded_session_id(app, client, load_study, make_user, bearer):
    """Nobody is signed in as an enrolled participant without proof, and refusals look alike."""
    load_study("reminder-rct")
    coord = bearer(make_user("coordinator")[1])
    assert rct(client, coord, "api-enrolled").status_code == 201  # enrolled by the API, not Prolific
    assert enter(app.test_client(), entry(app, pid="pp-1") + STRATA).status_code == 302
    attempts = [entry(app, pid="pp-1", session_id="guess") + STRATA,  # existing, no proof
                entry(app, pid="pp-1", session_id="guess") + "&site=north&severity=mild",  # other strata
                entry(app, pid="api-enrolled", session_id="x-1") + "&site=north&severity=mild"]
    answers = []
    for url in attempts:
        browser = app.test_client()
        answer = enter(browser, url)
        assert answer.status_code == 403 and "hwtrial_session" not in answer.headers.get("Set-Cookie", "")
        assert browser.get("/p/").status_code == 401
        answers.append(answer.get_data(as_text=True))
    assert len(set(answers)) == 1
    # The participant's own signed-in browser may come back through the study link.
    own = app.test_client()
    assert enter(own, entry(app, pid="pp-2", session_id="y-1") + STRATA).status_code == 302
    assert enter(own, entry(app, pid="pp-2", session_id="other") + STRATA).status_code == 302


def test_an_id_taken_through_the_study_link_is_not_adopted_by_the_host(app, client, load_study, make_user,
                                                                          bearer):
    """A visitor who enrols under a host's id (squatting it) keeps a session of that participant,
    so the host's later enrolment of the id must not replay it (and hand the host's user a link to
    a participant someone else is signed in as): 409, no link, nothing new stored."""
    load_study("reminder-rct")
    coord = bearer(make_user("coordinator")[1])
    squatter = app.test_client()
    assert enter(squatter, entry(app, pid="host-user-7") + STRATA).status_code == 302
    answer = enrol(client, coord, "reminder-rct", "host-user-7", {"site": "online", "severity": "severe"})
    assert answer.status_code == 409, answer.get_json()
    body = answer.get_json()
    assert "link" not in body and "link" not in body.get("existing", {})
    assert body["errors"] == {"external_id": ["taken by a prolific enrolment"]}
    with app.app_context():
        rows = app.extensions["hwtrial"].db.session.scalars(sa.select(Participant)).all()
    assert [(p.external_id, p.source) for p in rows] == [("host-user-7", "prolific")]


def test_cli_prints_the_study_url(app, runner, load_study):
    load_study("reminder-rct")
    out = runner.invoke(args=["hwtrial", "recruitment", "url", "reminder-rct", "--base-url", "https://t.example",
                              "--stratum", "site=online"])
    assert out.exit_code == 0, out.output
    url = out.output.strip()
    assert url.startswith("https://t.example/r/reminder-rct?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}")
    assert entry(app).split("&entry=")[1] in url and url.endswith("&site=online")
    load_study("therapist-cluster")
    refused = runner.invoke(args=["hwtrial", "recruitment", "url", "therapist-cluster"])
    assert refused.exit_code != 0 and "has no recruitment.prolific section" in refused.output


@pytest.fixture
def coord(make_user, bearer):
    return bearer(make_user("coordinator")[1])


def test_cli_verify_reports_a_tampered_row(client, load_study, coord, runner, session):
    load_study("reminder-rct")
    for i in range(8):
        assert rct(client, coord, f"c-{i}").status_code == 201
    ok = runner.invoke(args=["hwtrial", "allocation", "verify", "reminder-rct"])
    assert ok.exit_code == 0 and "all 8 allocations" in ok.output
    row = session.scalar(sa.select(Allocation).where(Allocation.sequence_no == 5))
    row.arm_key = "control" if row.arm_key == "reminders" else "reminders"
    session.commit()
    bad = runner.invoke(args=["hwtrial", "allocation", "verify", "reminder-rct"])
    assert bad.exit_code == 1 and "MISMATCH sequence_no 5" in bad.output


def test_cli_export_is_audited(client, load_study, coord, runner, session):
    load_study("reminder-rct")
    created = rct(client, coord).json
    out = runner.invoke(args=["hwtrial", "allocation", "export", "reminder-rct", "--format", "json"])
    assert out.exit_code == 0
    assert [r["arm"] for r in json.loads(out.output)] == [created["arm"]]
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "allocation.export"))
    assert entry.actor == "cli"


def test_overlong_platform_ids_are_422_and_enrol_nobody(app, client, load_study):
    load_study("reminder-rct")
    for url in (entry(app, pid="p" * 201), entry(app, session_id="s" * 5000)):
        assert client.get(url + STRATA).status_code == 422
        assert enter(client, url + STRATA).status_code == 422
    with app.app_context():
        assert app.extensions["hwtrial"].db.session.scalars(sa.select(Participant)).all() == []
