"""The built wheel works on its own: installed in a fresh virtual environment (no access to the
checkout's packages), ``hwtrial db upgrade`` and ``hwtrial demo`` run from an unrelated folder.

Slow (it builds a wheel and installs numpy, scipy, pandas … into a new environment, from pip's
cache when warm); it runs in CI with the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, STUDIES

pytestmark = pytest.mark.slow


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtual environment with only the wheel and its declared dependencies."""
    root = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(REPO)])
    (wheel,) = (root / "dist").glob("hwtrial-*.whl")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(root / "venv")
    bin_dir = root / "venv" / ("Scripts" if os.name == "nt" else "bin")
    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)])
    return root, bin_dir


def clean_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HWTRIAL_", "FLASK_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def test_wheel_ships_migrations_and_finds_them_installed(installed):
    root, bin_dir = installed
    where = run([str(bin_dir / "python"), "-c",
                 "import hwtrial, hwtrial.config as c; print(hwtrial.__file__); "
                 "print(c.default_migrations_dir())"], cwd=root, env=clean_env()).stdout.split()
    package = Path(where[0]).parent
    assert root / "venv" in package.parents  # the installed copy, not the checkout
    assert Path(where[1]) == package / "migrations"
    assert sorted(p.name for p in (package / "migrations" / "versions").glob("0*.py")) == sorted(
        p.name for p in (REPO / "migrations" / "versions").glob("0*.py"))


def test_db_upgrade_and_demo_from_an_unrelated_folder(installed, tmp_path):
    _, bin_dir = installed
    shutil.copytree(STUDIES, tmp_path / "studies")  # a copy: ./studies of the working folder
    database = tmp_path / "trial.sqlite3"
    env = clean_env(HWTRIAL_ENV="development", HWTRIAL_DATABASE_URL=f"sqlite:///{database}")
    run([str(bin_dir / "hwtrial"), "db", "upgrade"], cwd=tmp_path, env=env)
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM hwtrial_alembic_version").scalar() == 1
    engine.dispose()
    run([str(bin_dir / "hwtrial"), "db", "check"], cwd=tmp_path, env=env)

    demo_env = clean_env(HWTRIAL_ENV="demo", HWTRIAL_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    shown = run([str(bin_dir / "hwtrial"), "demo", "--no-serve"], cwd=tmp_path, env=demo_env).stdout
    assert "hwtrial demo at" in shown and "API token" in shown
    assert "participant link" in shown  # the copied example studies were loaded and enrolled
