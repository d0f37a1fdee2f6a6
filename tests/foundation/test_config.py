"""Configuration: defaults → instance file → environment → explicit; unsafe settings refused."""

from __future__ import annotations

import pytest

from hwtrial import create_app
from hwtrial.config import DEFAULT_SECRET_KEY, ConfigError, load_config, normalise_database_url


def test_default_secret_key_is_refused_in_production(tmp_path, monkeypatch):
    monkeypatch.delenv("HWTRIAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("HWTRIAL_ENV", raising=False)
    with pytest.raises(ConfigError, match="HWTRIAL_SECRET_KEY"):
        load_config(str(tmp_path))


@pytest.mark.parametrize("env", ["development", "demo", "testing"])
def test_default_secret_key_is_accepted_outside_production(tmp_path, env):
    config = load_config(str(tmp_path), {"HWTRIAL_ENV": env})
    assert config["HWTRIAL_SECRET_KEY"] == DEFAULT_SECRET_KEY


def test_environment_overrides_instance_file(tmp_path, monkeypatch):
    (tmp_path / "hwtrial.cfg").write_text("HWTRIAL_URL_PREFIX = '/from-file'\nHWTRIAL_SESSION_HOURS = 3\n")
    monkeypatch.setenv("HWTRIAL_SESSION_HOURS", "7")
    monkeypatch.setenv("HWTRIAL_ENV", "testing")
    config = load_config(str(tmp_path))
    assert config["HWTRIAL_URL_PREFIX"] == "/from-file"
    assert config["HWTRIAL_SESSION_HOURS"] == 7


def test_bad_number_names_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("HWTRIAL_SESSION_HOURS", "soon")
    with pytest.raises(ConfigError, match="HWTRIAL_SESSION_HOURS"):
        load_config(str(tmp_path), {"HWTRIAL_ENV": "testing"})


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_results_budget_must_be_milliseconds(tmp_path, monkeypatch, value):
    monkeypatch.setenv("HWTRIAL_RESULTS_INLINE_MS", value)
    with pytest.raises(ConfigError, match="HWTRIAL_RESULTS_INLINE_MS"):
        load_config(str(tmp_path), {"HWTRIAL_ENV": "testing"})


def test_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HWTRIAL_DATABASE_URL", raising=False)
    config = load_config(str(tmp_path), {"HWTRIAL_ENV": "testing"})
    assert config["HWTRIAL_DATABASE_URL"] == f"sqlite:///{tmp_path}/hwtrial.sqlite3"


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_app_factory_creates_no_tables(tmp_path):
    path = tmp_path / "empty.sqlite3"
    app = create_app({"HWTRIAL_ENV": "testing", "HWTRIAL_DATABASE_URL": f"sqlite:///{path}"})
    import sqlalchemy as sa

    with app.app_context():
        engine = app.extensions["hwtrial"].db.engine
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()
