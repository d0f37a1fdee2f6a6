"""Keep a host's Alembic and hwtrial's Alembic out of each other's tables.

A host mounted with ``HWTrial(app, db=db)`` shares its database with hwtrial's ``hwtrial_*``
tables. The host's ``flask db migrate`` compares the host's models with every table it finds,
so without a filter it proposes to drop all of hwtrial's. Pass :func:`include_object` to the
host's Alembic (``Migrate(app, db, include_object=include_object)``); hwtrial's own
``migrations/env.py`` uses the inverse, :func:`include_hwtrial_object`.
"""

from __future__ import annotations

#: Every hwtrial table name starts with this.
PREFIX = "hwtrial_"
#: hwtrial's own Alembic version table (not a model: never compared).
VERSION_TABLE = "hwtrial_alembic_version"


def _table_of(obj, name: str | None, type_: str) -> str | None:
    """The table an object belongs to: itself, or the table of an index, column or constraint."""
    if type_ == "table":
        return name
    table = getattr(obj, "table", None)
    return getattr(table, "name", None)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For the host's autogenerate: everything except hwtrial's tables and what belongs to them."""
    table = _table_of(obj, name, type_)
    return table is None or not table.startswith(PREFIX)


def include_hwtrial_object(obj, name, type_, reflected, compare_to) -> bool:
    """For hwtrial's autogenerate: only hwtrial's tables (not its version table), and their parts."""
    table = _table_of(obj, name, type_)
    if table is None:
        return True
    return table.startswith(PREFIX) and table != VERSION_TABLE
