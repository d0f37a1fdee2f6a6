"""Helpers every command module shares; imports no command module (no import circle)."""

from __future__ import annotations

import click

from ..errors import ServiceError
from ..extensions import get_session

#: The audit actor of every command-line change.
ACTOR = "cli"


def fail(message: str, errors: dict | None = None) -> None:
    lines = [message] + [f"  {path}: {'; '.join(msgs)}" for path, msgs in (errors or {}).items()]
    raise click.ClickException("\n".join(lines))


def committed(func):
    """Run ``func`` and commit once; a ServiceError becomes a readable CLI error."""
    try:
        result = func()
        get_session().commit()
        return result
    except ServiceError as error:
        get_session().rollback()
        fail(error.message, error.errors)


def read_only(func):
    """Run ``func`` and roll back (nothing to commit); a ServiceError becomes a CLI error."""
    try:
        return func()
    except ServiceError as error:
        fail(error.message, error.errors)
    finally:
        get_session().rollback()
