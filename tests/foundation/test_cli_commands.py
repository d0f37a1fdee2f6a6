"""The user's command line: what `hwtrial --help` offers, key and account validation, and the
everyday commands (studies lifecycle, users, tokens, participant links)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from hwtrial.cli import cli
from hwtrial.config import ConfigError, load_config
from hwtrial.errors import ServiceError
from hwtrial.models import ApiToken, AuditEntry, Participant, Study, StudyVersion, User

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "studies" / "reminder-rct.yaml"


def standalone(app, *args, **kwargs):
    """Invoke the standalone `hwtrial` group on the test app (as the console script would)."""
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), **kwargs)


# --- what the standalone CLI shows -------------------------------------------------------

def test_help_is_hwtrials_own_not_flasks():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for flask_only in ("--app", "--env-file", "routes", "shell", "hwtrial  "):
        assert flask_only not in result.output
    for command in ("studies", "users", "tokens", "participants", "db", "run", "demo", "analyze"):
        assert f"  {command} " in result.output


def test_version_is_hwtrials():
    from importlib.metadata import version

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"hwtrial {version('hwtrial')}\n"


def test_db_offers_only_the_installation_commands():
    result = CliRunner().invoke(cli, ["db", "--help"])
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"upgrade", "check", "current", "history"}
    dev = CliRunner().invoke(cli, ["dev", "db", "--help"])
    assert "revision" in dev.output and "migrate" in dev.output


def test_db_current_and_check_on_the_migrated_database(app):
    current = standalone(app, "db", "current")
    assert current.exit_code == 0, current.output
    check = standalone(app, "db", "check")
    assert check.exit_code == 0, check.output


def test_mounted_group_keeps_every_command(runner):
    result = runner.invoke(args=["hwtrial", "--help"])
    for command in ("studies", "users", "tokens", "participants", "audit", "demo"):
        assert f"  {command} " in result.output


# --- configuration keys ----------------------------------------------------------------

@pytest.mark.parametrize("key", ["HWTRIAL_SECRET_KEY", "HWTRIAL_AUDIT_HMAC_KEY"])
def test_short_keys_are_refused_in_production(tmp_path, key):
    settings = {"HWTRIAL_ENV": "production", "HWTRIAL_SECRET_KEY": "s" * 40, key: "x"}
    with pytest.raises(ConfigError, match=f"{key}: 1 characters is too short.*at least 32"):
        load_config(str(tmp_path), settings)
    settings[key] = "k" * 32
    assert load_config(str(tmp_path), settings)[key] == "k" * 32


def test_short_keys_are_accepted_in_development(tmp_path):
    config = load_config(str(tmp_path), {"HWTRIAL_ENV": "development", "HWTRIAL_SECRET_KEY": "x"})
    assert config["HWTRIAL_SECRET_KEY"] == "x"


# --- accounts ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, field", [
    (["--email", "c@test.example", "--password", "x"], "password: at least 12 characters"),
    (["--email", "notanemail"], "email: not a valid email address"),
    (["--email", "a@b"], "email: not a valid email address"),
])
def test_users_create_refuses_bad_email_and_short_password(runner, session, args, field):
    result = runner.invoke(args=["hwtrial", "users", "create", "--role", "coordinator", *args])
    assert result.exit_code == 1 and field in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_service_validates_for_every_caller(session):
    from hwtrial.services import users

    with pytest.raises(ServiceError) as error:
        users.create_user(session, "test", email="nobody", role="admin")
    assert error.value.status == 422 and "email" in error.value.errors


def test_password_prompt_is_hidden_and_confirmed(runner, session):
    from werkzeug.security import check_password_hash

    result = runner.invoke(args=["hwtrial", "users", "create", "--role", "admin", "--email",
                                 "p@test.example", "--password"],
                           input="a-long-password-1\na-long-password-1\n")
    assert result.exit_code == 0, result.output
    assert "a-long-password-1" not in result.output  # hidden
    user = session.scalar(sa.select(User).where(User.email == "p@test.example"))
    assert check_password_hash(user.password_hash, "a-long-password-1")


def test_password_from_stdin_then_reset(runner, session):
    from werkzeug.security import check_password_hash

    created = runner.invoke(args=["hwtrial", "users", "create", "--role", "admin", "--email",
                                  "r@test.example", "--password-stdin"], input="first-password-12\n")
    assert created.exit_code == 0, created.output
    reset = runner.invoke(args=["hwtrial", "users", "reset-password", "r@test.example"],
                          input="second-password-12\nsecond-password-12\n")
    assert reset.exit_code == 0, reset.output
    short = runner.invoke(args=["hwtrial", "users", "reset-password", "r@test.example", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    session.expire_all()
    user = session.scalar(sa.select(User).where(User.email == "r@test.example"))
    assert check_password_hash(user.password_hash, "second-password-12")
    assert "user.password" in session.scalars(sa.select(AuditEntry.action)).all()


def test_users_list_and_disable(runner, session):
    runner.invoke(args=["hwtrial", "users", "create", "--role", "therapist", "--email", "t@test.example"])
    disabled = runner.invoke(args=["hwtrial", "users", "disable", "t@test.example", "--reason", "left"])
    assert disabled.exit_code == 0, disabled.output
    listed = runner.invoke(args=["hwtrial", "users", "list"])
    assert "t@test.example" in listed.output and "disabled" in listed.output
    assert session.scalar(sa.select(User.active).where(User.email == "t@test.example")) is False
    missing = runner.invoke(args=["hwtrial", "users", "disable", "nobody@test.example"])
    assert missing.exit_code == 1 and "no user" in missing.output


def test_tokens_issue_list_revoke(runner, session, load_study):
    load_study("reminder-rct")
    runner.invoke(args=["hwtrial", "users", "create", "--role", "coordinator", "--email", "k@test.example"])
    issued = runner.invoke(args=["hwtrial", "tokens", "issue", "k@test.example", "--label", "host app",
                                 "--study", "reminder-rct"])
    assert issued.exit_code == 0, issued.output
    token_id = int(issued.output.split()[1])
    token = session.get(ApiToken, token_id)
    assert token.study_keys == ["reminder-rct"] and token.label == "host app"
    revoked = runner.invoke(args=["hwtrial", "tokens", "revoke", str(token_id)])
    assert revoked.exit_code == 0, revoked.output
    listed = runner.invoke(args=["hwtrial", "tokens", "list", "k@test.example"])
    line = next(x for x in listed.output.splitlines() if x.split()[0] == str(token_id))
    assert "revoked" in line and "reminder-rct" in line
    unknown = runner.invoke(args=["hwtrial", "tokens", "issue", "k@test.example", "--study", "nope"])
    assert unknown.exit_code == 1 and "unknown study" in unknown.output


# --- studies lifecycle -------------------------------------------------------------------

def test_activate_close_and_list(runner, session):
    runner.invoke(args=["hwtrial", "studies", "load", str(STUDY)])
    activated = runner.invoke(args=["hwtrial", "studies", "activate", "reminder-rct"])
    assert activated.exit_code == 0, activated.output
    listed = runner.invoke(args=["hwtrial", "studies", "list"])
    assert listed.output.split()[:3] == ["reminder-rct", "active", "v1"]
    closed = runner.invoke(args=["hwtrial", "studies", "close", "reminder-rct", "--reason", "done"])
    assert closed.exit_code == 0, closed.output
    again = runner.invoke(args=["hwtrial", "studies", "activate", "reminder-rct"])
    assert again.exit_code == 1 and "cannot go from closed to active" in again.output
    assert session.scalar(sa.select(Study.status)) == "closed"


def test_amend_applies_a_changed_file_as_a_new_version(runner, session, tmp_path):
    runner.invoke(args=["hwtrial", "studies", "load", str(STUDY), "--activate"])
    changed = tmp_path / "reminder-rct.yaml"
    changed.write_text(STUDY.read_text().replace("title: Homework reminders in CBT for depression",
                                                 "title: Homework reminders in CBT (amended)"))
    loaded = runner.invoke(args=["hwtrial", "studies", "load", str(changed)])
    assert loaded.exit_code == 1 and "studies amend" in loaded.output
    no_reason = runner.invoke(args=["hwtrial", "studies", "amend", str(changed)])
    assert no_reason.exit_code == 1 and "reason" in no_reason.output
    amended = runner.invoke(args=["hwtrial", "studies", "amend", str(changed), "--reason", "clearer title"])
    assert amended.exit_code == 0, amended.output
    assert "version 2" in amended.output
    assert session.scalar(sa.select(Study.title)) == "Homework reminders in CBT (amended)"
    assert session.scalar(sa.select(StudyVersion.reason).where(StudyVersion.version == 2)) == "clearer title"
    same = runner.invoke(args=["hwtrial", "studies", "amend", str(changed), "--reason", "again"])
    assert same.exit_code == 1 and "nothing to amend" in same.output
    locked = tmp_path / "locked.yaml"
    locked.write_text(changed.read_text().replace("block_sizes: [2, 4]", "block_sizes: [4]"))
    refused = runner.invoke(args=["hwtrial", "studies", "amend", str(locked), "--reason", "x"])
    assert refused.exit_code == 1 and "allocation: cannot change after activation" in refused.output


# --- participant links in bulk -------------------------------------------------------------

def test_links_pre_enrol_n_participants(runner, session, load_study, tmp_path):
    load_study("reminder-rct")
    out = tmp_path / "links.csv"
    result = runner.invoke(args=["hwtrial", "participants", "links", "reminder-rct", "--count", "3",
                                 "--strata", "site=north", "--strata", "severity=mild",
                                 "--base-url", "https://trial.example", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 3 and len({r["external_id"] for r in rows}) == 3
    assert all(r["link"].startswith("https://trial.example/p/start?token=") for r in rows)
    stored = session.scalars(sa.select(Participant).order_by(Participant.id)).all()
    assert [str(p.id) for p in stored] == [r["id"] for r in rows]
    assert all(p.strata == {"site": "north", "severity": "mild"} and p.allocation for p in stored)


def test_links_need_strata_and_a_base_url(runner, load_study):
    load_study("reminder-rct")
    no_base = runner.invoke(args=["hwtrial", "participants", "links", "reminder-rct", "--count", "1",
                                  "--strata", "site=north", "--strata", "severity=mild"])
    assert no_base.exit_code == 1 and "--base-url or set HWTRIAL_PUBLIC_URL" in no_base.output
    no_strata = runner.invoke(args=["hwtrial", "participants", "links", "reminder-rct", "--count", "1",
                                    "--base-url", "https://trial.example"])
    assert no_strata.exit_code == 1 and "strata.site: missing" in no_strata.output
    bad = runner.invoke(args=["hwtrial", "participants", "links", "reminder-rct", "--count", "1",
                              "--strata", "site"])
    assert bad.exit_code == 2 and "FACTOR=LEVEL" in bad.output


def test_links_default_to_the_public_url(load_study, session, app):
    load_study("mrt-reminders")
    app.config["HWTRIAL_PUBLIC_URL"] = "https://public.example"
    result = standalone(app, "participants", "links", "mrt-reminders", "--count", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "id,external_id,link" and len(lines) == 3
    assert all(",https://public.example/p/start?token=" in line for line in lines[1:])


# --- the demo's back-dated enrolment --------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.stem for p in (REPO / "studies").glob("*.yaml")))
def test_demo_enrolment_has_a_task_at_every_hour(name):
    """Whatever the time of day `hwtrial demo` runs, its participant has a task to do."""
    from datetime import UTC, datetime, timedelta

    from hwtrial.scheduling import instance_state, plan_instances
    from hwtrial.services.enrolment import demo_enrolled_at
    from hwtrial.studydef import load_study_file

    schedule = load_study_file(str(REPO / "studies" / f"{name}.yaml")).data["homework"]["schedule"]
    for hour in range(0, 24 * 7, 5):  # every 5 hours over a week: each weekday and hour mix
        now = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=hour, minutes=17)
        at = demo_enrolled_at(schedule, now)
        assert at <= now
        assert any(instance_state(p, now) in ("open", "due") for p in plan_instances(schedule, at, "UTC"))
