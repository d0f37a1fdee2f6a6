"""README "Production": the block runs as written against a real PostgreSQL and Redis.

Only what names this machine's services changes: the database and Redis URLs (the README's
``db.internal``/``redis.internal``) point at the test services, on a database of the test's
own, and gunicorn binds a free local port instead of ``0.0.0.0:8000``. The install line is
left out (the test environment has the extras it names). Every other line, the key
generation and ``hwtrial db upgrade`` included, runs in one bash process as written; then
the four gunicorn workers must answer, share their throttling counters through Redis and
stop cleanly.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.enrolment.harness import free_port

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("HWTRIAL_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("HWTRIAL_TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(not (PG_URL and REDIS_URL),
                                reason="needs HWTRIAL_TEST_DATABASE_URL and HWTRIAL_TEST_REDIS_URL")


def production_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Production: PostgreSQL and gunicorn\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)[:1]
    return [line for line in block.splitlines() if line.strip()]


def test_the_block_names_what_the_test_replaces():
    lines = production_block()
    assert lines[0].startswith(".venv/bin/pip install")
    assert sum("db.internal" in x for x in lines) == 1 and sum("redis.internal" in x for x in lines) == 1
    assert lines[-1].startswith(".venv/bin/gunicorn") and "-b 0.0.0.0:8000" in lines[-1]


@pytest.fixture
def database():
    """A database of this test's own on the test server (dropped afterwards)."""
    name = f"hwtrial_readme_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_production_block_serves_with_four_workers(tmp_path, database):
    port = free_port()
    lines = []
    for line in production_block()[1:]:  # the install line: the test environment has the extras
        line = re.sub(r"postgresql://hwtrial@db\.internal/hwtrial", database, line)
        line = re.sub(r"redis://redis\.internal:6379/2", REDIS_URL, line)
        lines.append(line.replace("-b 0.0.0.0:8000", f"-b 127.0.0.1:{port}"))
    *setup, serve = lines
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    # set -e: a failing line stops the script before gunicorn starts; exec: the signal reaches it
    (tmp_path / "production.sh").write_text("set -e\n" + "\n".join(setup) + "\nexec " + serve + "\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "PYTHONPATH": str(REPO)}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(["bash", "production.sh"], cwd=tmp_path, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                answer = requests.get(base + "/login", timeout=30)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
                time.sleep(0.3)
        assert answer.status_code == 200 and "<form" in answer.text
        assert requests.get(base + "/api/v1/studies", timeout=30).status_code == 401
        # the schema is the migrations' head: the upgrade line ran on the new database
        engine = sa.create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM hwtrial_alembic_version")) == 1
        engine.dispose()
        # The limit is one count in Redis whichever worker answers: the account's sixth wrong
        # password is refused (HWTRIAL_LOGIN_LIMIT_ACCOUNT, 5 per 15 minutes); with counters in
        # each worker's memory up to 4 x 5 would pass.
        import redis

        # Counters of earlier runs (15-minute windows) under the production prefix start afresh.
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter("hwtrial:LIMITER/login-*"):
            store.delete(key)
        store.close()
        browser = requests.Session()
        form = browser.get(base + "/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        codes = [browser.post(base + "/login", timeout=30, allow_redirects=False,
                              data={"csrf_token": token, "email": "nobody@example.org", "password": "wrong"}
                              ).status_code for _ in range(8)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(timeout=30) == 0, (tmp_path / "server.log").read_text()[-3000:]
        log.close()
