"""Slow results are kept in the database: another worker process serves them without computing,
the staff results page shows the last computation at once after a write (saying so) while a
background refresh makes the next view current, and the API is never stale. Both backends.

The budget is 0 ms here, so every computation counts as slow (the other tests compute inline).
"""

from __future__ import annotations

import pickle

import pytest
import sqlalchemy as sa

from hwtrial.models import Participant, ResultsSnapshot, Study, utcnow
from hwtrial.services import results_cache

from .html_checks import blinded_leaks
from .test_report_html import KEY, definition
from .test_results_page import URL, _estimates

STALE = "before the latest changes"
API = f"/api/v1/studies/{KEY}/results"


@pytest.fixture
def app_config() -> dict:
    return {"HWTRIAL_RESULTS_INLINE_MS": 0}


@pytest.fixture(autouse=True)
def _background_done(app):
    """No store or refresh of one test may outlive it (its database is then dropped)."""
    results_cache.clear()
    yield
    results_cache.wait_background()
    results_cache.clear()


def stored(app) -> dict[str, str]:
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        return dict(session.execute(sa.select(ResultsSnapshot.part, ResultsSnapshot.stamp)
                                    .join(Study, Study.id == ResultsSnapshot.study_id)
                                    .where(Study.key == KEY)).all())


def withdraw_one(app) -> None:
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        person = session.scalar(sa.select(Participant).where(Participant.status == "active")
                                .order_by(Participant.id))
        person.status, person.withdrawn_at, person.exclude_data = "withdrawn", utcnow(), True
        session.commit()


def page(client) -> str:
    answer = client.get(URL)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_stored_then_stale_with_a_notice_then_refreshed(app, signed_in, make_trial, make_user, bearer):
    make_trial(KEY, n=60)
    client = signed_in("statistician")
    api_headers = bearer(make_user("statistician")[1])
    first = page(client)
    assert STALE not in first
    results_cache.wait_background()
    parts = stored(app)
    assert "report|blind" in parts and any(p.startswith("results|blind|") for p in parts), parts

    # another worker process (nothing in memory) serves the stored parts without computing
    results_cache.clear()
    before = dict(results_cache.STATS)
    again = page(client)
    assert results_cache.STATS["misses"] == before["misses"]
    assert results_cache.STATS["stored_hits"] >= before["stored_hits"] + 1
    assert _estimates(again) == _estimates(first)

    api_before = client.get(API, headers=api_headers).get_json()
    withdraw_one(app)
    # the API computes afresh at once: it is never stale
    api_after = client.get(API, headers=api_headers).get_json()
    assert api_after != api_before
    # the page answers with the last computation, says so, and is still blinded
    before = dict(results_cache.STATS)
    stale = page(client)
    assert STALE in stale and results_cache.STATS["stale"] == before["stale"] + 1
    assert _estimates(stale) == _estimates(first)
    assert blinded_leaks(stale, definition(app)) == []
    # once the background refresh ran, the page is current (as a fresh computation shows)
    results_cache.wait_background()
    assert results_cache.STATS["refreshes"] >= before["refreshes"] + 1
    current = page(client)
    assert STALE not in current and _estimates(current) != _estimates(first)
    assert stored(app) != parts
    results_cache.clear()
    with app.app_context():
        app.extensions["hwtrial"].db.session.execute(sa.delete(ResultsSnapshot))
        app.extensions["hwtrial"].db.session.commit()
    assert _estimates(page(client)) == _estimates(current)


def test_a_snapshot_that_does_not_verify_is_recomputed_never_loaded(app, signed_in, make_trial):
    make_trial(KEY, n=40)
    client = signed_in("statistician")
    first = page(client)
    results_cache.wait_background()

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled a forged snapshot')",))

    forged = b"\0" * 32 + pickle.dumps(Boom())
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        assert session.execute(sa.update(ResultsSnapshot).values(payload=forged)).rowcount >= 2
        session.commit()
    results_cache.clear()
    before = dict(results_cache.STATS)
    again = page(client)  # SystemExit would end the test run
    assert results_cache.STATS["stored_hits"] == before["stored_hits"]
    assert results_cache.STATS["misses"] >= before["misses"] + 1
    assert _estimates(again) == _estimates(first)


def test_a_stale_part_is_served_only_to_its_own_blinding(app, signed_in, make_trial, make_user):
    make_trial(KEY, n=40)
    page(signed_in("statistician"))  # stores the blinded parts only
    results_cache.wait_background()
    withdraw_one(app)
    before = dict(results_cache.STATS)
    coordinator = signed_in("coordinator")
    html = page(coordinator)
    assert STALE not in html and results_cache.STATS["stale"] == before["stale"]
    assert blinded_leaks(html, definition(app)) != []  # computed afresh, with the arm keys
    assert results_cache.STATS["misses"] >= before["misses"] + 1
