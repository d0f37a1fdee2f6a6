"""Helpers of the participant and user page tests: a signed-in staff client, posting a form
with the CSRF token read from the page (as a browser would)."""

from __future__ import annotations

import re
from datetime import timedelta

from hwtrial.models import User

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def db(app):
    return app.extensions["hwtrial"].db.session


def staff_client(app, make_user, role: str, *, user_id: int | None = None, **kwargs):
    """A test client signed in (session cookie) as a new user of ``role``, or as ``user_id``."""
    from hwtrial.services.sessions import open_session

    if user_id is None:
        user_id, _ = make_user(role, **kwargs)
    client = app.test_client()
    with app.app_context():
        secret = open_session(db(app), timedelta(hours=1), user=db(app).get(User, user_id))
        db(app).commit()
    client.set_cookie("hwtrial_session", secret)
    client.user_id = user_id
    return client


def post_form(client, url: str, data: dict, *, form_url: str | None = None):
    """POST ``data`` with the CSRF token of the page at ``form_url`` (default ``url``)."""
    page = client.get(form_url or url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no form on {form_url or url} ({page.status_code})"
    return client.post(url, data={**data, "csrf_token": match.group(1)})
