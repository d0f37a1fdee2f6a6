"""Alembic environment for hwtrial's tables only.

hwtrial may share a database with its host app, so it keeps its own version table and
ignores tables that are not ``hwtrial_*``; SQLite gets batch mode (ALTER via table copy).
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from hwtrial.migrations_filter import VERSION_TABLE, include_hwtrial_object
from hwtrial.models import Model

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

def get_engine():
    return current_app.extensions["hwtrial"].db.engine


def render_item(type_, obj, autogen_context):
    """Render hwtrial's column types as plain SQLAlchemy types: migrations import no app code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "JSONText":
        return "sa.Text()"
    return False


def configure_args(connection_or_url):
    return dict(
        target_metadata=Model.metadata,
        version_table=VERSION_TABLE,
        include_object=include_hwtrial_object,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )


def process_revision_directives(context_, revision, directives):
    # An autogenerate with no changes writes no empty revision file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    url = get_engine().url.render_as_string(hide_password=False)
    context.configure(url=url, literal_binds=True, **configure_args(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    with get_engine().connect() as connection:
        context.configure(connection=connection,
                          process_revision_directives=process_revision_directives,
                          **configure_args(connection))
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
