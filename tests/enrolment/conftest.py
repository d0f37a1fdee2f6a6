"""A fresh database per load test (SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import BACKENDS, PG_URL, create_pg_database, drop_pg_database


@pytest.fixture(params=BACKENDS)
def fresh_database(request, tmp_path):
    """URL of an empty database (migrated by :func:`harness.prepare`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'load.sqlite3'}"
        return
    name = f"hwtrial_load_{uuid.uuid4().hex[:8]}"
    yield create_pg_database(PG_URL, name)
    drop_pg_database(PG_URL, name)
