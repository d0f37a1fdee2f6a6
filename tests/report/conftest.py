"""Report tests reuse the results factory (a generated trial inserted as rows), and sign the
test client in as a staff role."""

from datetime import timedelta

import pytest

from hwtrial.models import User
from hwtrial.services import sessions

from ..results.conftest import make_trial  # noqa: F401


@pytest.fixture
def signed_in(app, client, make_user):
    """``signed_in(role, **user fields)``: the client signed in as a new user of that role."""

    def sign_in(role: str, **fields):
        user_id, _ = make_user(role, **fields)
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            cookie = sessions.open_session(session, timedelta(hours=1), user=session.get(User, user_id))
            session.commit()
        client.set_cookie("hwtrial_session", cookie)
        return client

    return sign_in
