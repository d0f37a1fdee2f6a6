"""Prolific entry and completion redirect; ``hwtrial allocation verify|export``."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hwtrial.models import Allocation, AuditEntry, Participant

from .helpers import rct

ENTRY = "/r/reminder-rct?PROLIFIC_PID=pp-1&STUDY_ID=s-9&SESSION_ID=x-1"


def test_prolific_entry_enrols_once_and_signs_in(client, load_study, session):
    load_study("reminder-rct")
    missing = client.get(ENTRY)
    assert missing.status_code == 422
    assert b"strata.site" in missing.data and b"strata.severity" in missing.data
    first = client.get(ENTRY + "&site=online&severity=severe")
    assert first.status_code == 302 and first.headers["Location"].endswith("/p/")
    assert "hwtrial_session" in first.headers.get("Set-Cookie", "")
    home = client.get("/p/")  # signed in: the participant app answers (next step: consent)
    assert home.status_code == 200 or "/p/consent" in home.headers["Location"]
    again = client.get(ENTRY.replace("x-1", "x-2") + "&site=online&severity=severe")
    assert again.status_code == 302
    [p] = session.scalars(sa.select(Participant)).all()
    assert (p.external_id, p.source, p.source_info["study_id"]) == ("pp-1", "prolific", "s-9")
    done = client.get("/p/complete")
    assert done.status_code == 302
    assert done.headers["Location"] == "https://app.prolific.com/submissions/complete?cc=C1A2B3C4"


def test_prolific_entry_needs_the_pid(client, load_study):
    load_study("reminder-rct")
    assert client.get("/r/reminder-rct?site=online&severity=severe").status_code == 422


def test_completion_needs_a_participant(client, load_study):
    load_study("reminder-rct")
    assert client.get("/p/complete").status_code == 401


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
