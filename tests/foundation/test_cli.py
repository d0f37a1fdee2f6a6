"""The command line: validate, load, users, demo. Each command wraps a plain function."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from hwtrial.models import ApiToken, Study, User

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "studies" / "reminder-rct.yaml"


def test_validate_every_example_study(runner):
    paths = sorted(str(p) for p in (REPO / "studies").glob("*.yaml"))
    result = runner.invoke(args=["hwtrial", "studies", "validate", *paths])
    assert result.exit_code == 0, result.output
    assert f"{len(paths)} study file(s) valid" in result.output


def test_validate_broken_file_names_file_path_and_line(runner, tmp_path):
    broken = tmp_path / "x.yaml"
    broken.write_text(STUDY.read_text().replace('times: ["18:30"]', 'times: ["25:00"]'))
    result = runner.invoke(args=["hwtrial", "studies", "validate", str(broken)])
    assert result.exit_code == 1
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1) if "25:00" in text)
    assert f"{broken}: arms[1].features.reminders.times[0]: '25:00' is not a time of day" in result.output
    assert result.output.rstrip().endswith(f"(line {line})")


def test_console_script_validate_exits_nonzero_on_syntax_error(tmp_path):
    broken = tmp_path / "syntax.yaml"
    broken.write_text("key: x\n  title: [unclosed\n")
    hwtrial = Path(sys.executable).parent / "hwtrial"
    done = subprocess.run([str(hwtrial), "studies", "validate", str(broken)], capture_output=True,
                          text=True, env={"HWTRIAL_ENV": "testing", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert f"{broken}: <yaml>:" in done.stderr and "line 2, column" in done.stderr


def test_load_and_activate(runner, session):
    result = runner.invoke(args=["hwtrial", "studies", "load", str(STUDY), "--activate"])
    assert result.exit_code == 0, result.output
    assert session.scalar(sa.select(Study.status).where(Study.key == "reminder-rct")) == "active"
    again = runner.invoke(args=["hwtrial", "studies", "load", str(STUDY)])
    assert again.exit_code == 1 and "exists" in again.output and "studies amend" in again.output


def test_users_create_prints_a_one_time_token(runner, session):
    result = runner.invoke(args=["hwtrial", "users", "create", "--role", "statistician",
                                 "--email", "s@test.example"])
    assert result.exit_code == 0, result.output
    secret = result.output.split("API token (shown once): ")[1].strip()
    user = session.scalar(sa.select(User).where(User.email == "s@test.example"))
    assert user.role == "statistician"
    assert secret not in session.scalars(sa.select(ApiToken.token_hash)).all()


def test_users_create_refuses_duplicates(runner):
    runner.invoke(args=["hwtrial", "users", "create", "--role", "admin", "--email", "a@test.example"])
    result = runner.invoke(args=["hwtrial", "users", "create", "--role", "admin", "--email", "a@test.example"])
    assert result.exit_code == 1 and "email" in result.output


def test_demo_prepares_a_fresh_database(tmp_path):
    """`hwtrial demo --no-serve` in a clean instance folder: migrated, studies loaded, users made."""
    env = {"HWTRIAL_ENV": "demo", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "HWTRIAL_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "HWTRIAL_STUDIES_DIR": str(REPO / "studies")}
    hwtrial = Path(sys.executable).parent / "hwtrial"
    for _ in range(2):  # twice: the second run starts from a fresh database again
        done = subprocess.run([str(hwtrial), "demo", "--no-serve"], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "coordinator@demo.hwtrial" in done.stdout and "reminder-rct" in done.stdout
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hwtrial_study")).scalar() == 4
        assert conn.execute(sa.text("SELECT count(*) FROM hwtrial_user")).scalar() == 4
    engine.dispose()
    assert_each_link_has_a_task_now(tmp_path / "demo.sqlite3", done.stdout)


def assert_each_link_has_a_task_now(path, stdout):
    """Every printed participant link opens on something to do (not "Nothing to do right now")."""
    from hwtrial.auth.links import read_link_token
    from hwtrial.config import DEFAULT_SECRET_KEY
    from hwtrial.models import Participant, utcnow
    from hwtrial.services.participant_flow import home
    from tests.conftest import make_app

    links = [line.split(": ", 1)[1] for line in stdout.splitlines() if "participant link (" in line]
    assert len(links) == 4
    app = make_app(f"sqlite:///{path}", HWTRIAL_SECRET_KEY=DEFAULT_SECRET_KEY)  # the demo's key
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        for link in links:
            pid, _ = read_link_token(DEFAULT_SECRET_KEY, link.split("token=")[1], timedelta(days=180))
            today = home(session, session.get(Participant, pid), utcnow()).today
            assert today, f"nothing to do now for {link}"
        session.rollback()
        app.extensions["hwtrial"].db.engine.dispose()


def test_refused_configuration_is_a_message_not_a_traceback(tmp_path):
    hwtrial = Path(sys.executable).parent / "hwtrial"
    done = subprocess.run([str(hwtrial), "audit", "verify"], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=60)
    assert done.returncode == 2
    assert "configuration error: HWTRIAL_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr


def test_demo_serves_and_a_browser_can_reach_it(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"HWTRIAL_ENV": "demo", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "HWTRIAL_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "HWTRIAL_STUDIES_DIR": str(REPO / "studies")}
    server = subprocess.Popen([str(Path(sys.executable).parent / "hwtrial"), "demo", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    status = answer.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
            assert b"Staff sign-in" in answer.read()
    finally:
        server.terminate()
        server.communicate(timeout=30)
