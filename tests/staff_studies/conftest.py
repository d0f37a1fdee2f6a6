"""Staff page factories: a test client signed in as a role (server-side session cookie), the
form token of that session, and enrolment of participants into a loaded study."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from hwtrial.models import User
from hwtrial.services import sessions

from ..homework.conftest import enrol  # noqa: F401  (fixture)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    return CSRF.search(html).group(1)


@pytest.fixture
def signed_in(app, make_user):
    """``signed_in(role, **user_fields) -> (client, csrf_token, user_id)``."""
    from hwtrial.web.csrf import _sign

    def make(role: str, **fields):
        user_id, _token = make_user(role, **fields)
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            secret = sessions.open_session(session, timedelta(hours=1), user=session.get(User, user_id))
            session.commit()
            token = _sign(secret)
        client = app.test_client()
        client.set_cookie("hwtrial_session", secret)
        return client, token, user_id

    return make
