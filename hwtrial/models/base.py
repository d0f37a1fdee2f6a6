"""Declarative base, naming convention and column types shared by every model."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

#: Deterministic constraint names, so Alembic can alter them (and SQLite batch mode can copy them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    """Base of every hwtrial table. Tables are prefixed ``hwtrial_``."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy 2.1 maps ``float`` to DOUBLE, 2.0 to FLOAT; the migrations create DOUBLE, so say
    # it here and the models agree with them (``db check``) on both.
    type_annotation_map = {float: sa.Double()}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC timestamp on every backend.

    Naive datetimes are refused on the way in: a naive time is a bug waiting for a
    daylight-saving change. SQLite returns naive values, which are UTC by construction.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: hwtrial stores timezone-aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(sa.TypeDecorator):
    """JSON stored as text with a stable encoding (JSONB on PostgreSQL would reorder keys)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)
