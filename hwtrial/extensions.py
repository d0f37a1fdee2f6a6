"""Extension objects and the per-app state; nothing here is bound to an app at import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session

from .models import Model

#: hwtrial's own Flask-SQLAlchemy instance, used when the app has none of its own.
db = SQLAlchemy(metadata=Model.metadata)

#: Flask-Migrate over hwtrial's migrations/ (own version table, batch mode for SQLite).
migrate = Migrate(render_as_batch=True, compare_type=True)


@dataclass
class HWTrialState:
    """What hwtrial keeps per app, in ``app.extensions["hwtrial"]``."""

    #: The Flask-SQLAlchemy instance whose session and engine hwtrial uses.
    db: SQLAlchemy
    #: flask-smorest Api object of this app (built per app, never shared).
    api: Any
    url_prefix: str


def state() -> HWTrialState:
    return current_app.extensions["hwtrial"]


def get_session() -> Session:
    """The scoped session of the current app's database."""
    return state().db.session
