"""Sign-in throttling (per account and per address, 429 with Retry-After), the same work for
unknown emails, and limits on the link exchange; in memory and in a real Redis."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.conftest import REDIS_URL

PASSWORD = "correct horse battery"


@pytest.fixture
def app_config():
    return {"HWTRIAL_LOGIN_LIMIT_ACCOUNT": "3 per minute", "HWTRIAL_LOGIN_LIMIT_ADDRESS": "5 per minute",
            "HWTRIAL_ENTRY_LIMIT_ADDRESS": "2 per minute"}


def login(client, email, password, address="10.0.0.1"):
    env = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=env)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=env)


def assert_throttled(answer):
    assert answer.status_code == 429
    assert 0 < int(answer.headers["Retry-After"]) <= 60


def test_failures_lock_the_account_from_any_address(client, make_user):
    make_user("coordinator", email="c@test.example", password=PASSWORD)
    for i in range(3):
        assert login(client, "c@test.example", "wrong", address=f"10.0.1.{i}").status_code == 401
    # Even the right password is refused now, from yet another address.
    assert_throttled(login(client, "c@test.example", PASSWORD, address="10.0.1.9"))
    make_user("coordinator", email="other@test.example", password=PASSWORD)
    assert login(client, "other@test.example", PASSWORD, address="10.0.1.9").status_code == 302


def test_parallel_guesses_at_one_account_get_exactly_its_limit(app, make_user):
    """Eight wrong passwords at once from eight addresses: three are checked, five refused. A
    check made before any guess was counted would let all eight reach the password hash."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    make_user("coordinator", email="c@test.example", password=PASSWORD)
    clients, tokens = [], []
    for i in range(8):
        clients.append(app.test_client())
        page = clients[i].get("/login", environ_base={"REMOTE_ADDR": f"10.0.3.{i}"})
        tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1))
    start = threading.Barrier(8)

    def guess(i):
        start.wait()
        return clients[i].post("/login", environ_base={"REMOTE_ADDR": f"10.0.3.{i}"}, data={
            "email": "c@test.example", "password": f"wrong-{i}", "csrf_token": tokens[i]}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(guess, range(8)))
    assert codes == [401] * 3 + [429] * 5


def test_the_right_password_forgets_the_accounts_failures(client, make_user):
    make_user("coordinator", email="c@test.example", password=PASSWORD)
    for _ in range(2):
        assert login(client, "c@test.example", "wrong").status_code == 401
    assert login(client, "c@test.example", PASSWORD).status_code == 302
    for _ in range(3):  # a fresh count of three
        assert login(client, "c@test.example", "wrong", address="10.0.0.7").status_code == 401
    assert_throttled(login(client, "c@test.example", "wrong", address="10.0.0.7"))


def test_failures_lock_the_address_across_accounts(client, make_user):
    make_user("coordinator", email="c@test.example", password=PASSWORD)
    for i in range(5):  # unknown emails count like known ones
        assert login(client, f"nobody-{i}@test.example", "wrong").status_code == 401
    assert_throttled(login(client, "c@test.example", PASSWORD))
    assert login(client, "c@test.example", PASSWORD, address="10.0.0.2").status_code == 302


def test_unknown_email_checks_a_password_hash_too(client, make_user, monkeypatch):
    """Constant work: the unknown-email path runs the same scrypt check as a real account."""
    import werkzeug.security

    from hwtrial.services import users

    calls = []

    def counting(pwhash, password):
        calls.append(pwhash.split("$")[0])
        return werkzeug.security.check_password_hash(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    make_user("coordinator", email="c@test.example", password=PASSWORD)
    assert login(client, "c@test.example", "wrong").status_code == 401
    assert login(client, "unknown@test.example", "wrong").status_code == 401
    assert len(calls) == 2 and calls[0] == calls[1] and calls[0].startswith("scrypt")


def test_link_exchange_is_limited_per_address(client):
    def exchange(address):
        env = {"REMOTE_ADDR": address}
        page = client.get("/p/start?token=forged", environ_base=env)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        return client.post("/p/start", data={"token": "forged", "csrf_token": token}, environ_base=env)

    assert [exchange("10.0.2.1").status_code for _ in range(2)] == [403, 403]
    assert_throttled(exchange("10.0.2.1"))
    assert exchange("10.0.2.2").status_code == 403


def test_recruitment_entry_is_limited_per_address_before_the_study_is_looked_up(app, client, load_study):
    # Counted before the study and its entry token are checked, so guessing tokens (404) uses
    # up the same allowance as entering; a valid link is throttled too.
    from tests.enrolment.test_recruitment_cli import STRATA, entry

    load_study("reminder-rct")
    guess = "/r/reminder-rct?PROLIFIC_PID=p&SESSION_ID=s&entry=guess"
    assert [client.get(guess, environ_base={"REMOTE_ADDR": "10.0.3.1"}).status_code for _ in range(2)] == [404, 404]
    assert_throttled(client.get(entry(app) + STRATA, environ_base={"REMOTE_ADDR": "10.0.3.1"}))
    assert client.get(entry(app) + STRATA, environ_base={"REMOTE_ADDR": "10.0.3.2"}).status_code == 200


@pytest.mark.skipif(not REDIS_URL, reason="HWTRIAL_TEST_REDIS_URL not set")
def test_counters_live_in_redis(app_config, database_url, make_user):
    """Two app instances (two workers) share the counters through Redis."""
    import redis

    from tests.conftest import make_app

    url = REDIS_URL.rsplit("/", 1)[0] + "/5"  # a database of our own, never the shared /15
    prefix = f"hwtrial-test-{uuid.uuid4().hex[:8]}"
    config = {**app_config, "HWTRIAL_RATELIMIT_STORAGE_URL": url}
    first, second = make_app(database_url, **config), make_app(database_url, **config)
    for app in (first, second):
        app.extensions["hwtrial.throttle.prefix"] = prefix
    make_user("coordinator", email="r@test.example", password=PASSWORD)
    email = f"r-{prefix}@test.example"  # unique per run: earlier runs' counters cannot interfere
    try:
        for client in (first.test_client(), second.test_client(), first.test_client()):
            assert login(client, email, "wrong", address="10.0.3.1").status_code == 401
        assert_throttled(login(second.test_client(), email, "wrong", address="10.0.3.2"))
        with redis.Redis.from_url(url) as store:
            assert store.keys(f"{prefix}*")
    finally:
        with redis.Redis.from_url(url) as store:
            for key in store.scan_iter(f"{prefix}*"):
                store.delete(key)
        for app in (first, second):  # close the apps' Redis connections (warnings are errors)
            limiter = app.extensions.get("hwtrial.throttle")
            if limiter is not None:
                limiter.storage.storage.close()
                limiter.storage.storage.connection_pool.disconnect()
            with app.app_context():
                app.extensions["hwtrial"].db.engine.dispose()


def test_a_bad_rate_is_refused_at_start(database_url):
    from hwtrial.config import ConfigError
    from tests.conftest import make_app

    with pytest.raises(ConfigError, match="HWTRIAL_LOGIN_LIMIT_ACCOUNT"):
        make_app(database_url, HWTRIAL_LOGIN_LIMIT_ACCOUNT="often")


def test_gunicorn_conf_needs_shared_counters_for_several_production_workers():
    from hwtrial.gunicorn_conf import throttle_storage_problem

    production = {"HWTRIAL_ENV": "production", "HWTRIAL_RATELIMIT_STORAGE_URL": None}
    assert "4 workers" in throttle_storage_problem(4, production)
    assert throttle_storage_problem(1, production) is None
    assert throttle_storage_problem(4, {**production, "HWTRIAL_RATELIMIT_STORAGE_URL": "redis://r:6379/2"}) is None
    assert throttle_storage_problem(4, {**production, "HWTRIAL_ENV": "development"}) is None


def test_gunicorn_refuses_several_workers_with_counters_in_memory(tmp_path):
    """The README's production command (several workers) on per-worker memory counters would let
    each worker grant the full limit: gunicorn with hwtrial's config stops before serving."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("HWTRIAL_")}
    env.update(HWTRIAL_SECRET_KEY="k" * 40, HWTRIAL_DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:hwtrial.gunicorn_conf",
                "-w", "2", "-b", "127.0.0.1:0", "hwtrial:create_app()"]
    done = subprocess.run(gunicorn, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "HWTRIAL_RATELIMIT_STORAGE_URL: 2 workers" in done.stderr
