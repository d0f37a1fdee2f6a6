"""The statistician's results page: same tables as the report, blinded by role, whatever the URL."""

from __future__ import annotations

import re

from .html_checks import Page, blinded_leaks, external_urls
from .test_report_html import KEY, PLOTS, RAW, definition


def _estimates(html: str) -> list[str]:
    """The result tables' HTML (the shared macro's output), for comparing page and report."""
    return re.findall(r'<table class="estimates">.*?</table>', html, flags=re.S)


URL = f"/staff/studies/{KEY}/results"
#: Every query a blinded caller might try to turn the arms on with (the view reads none).
TRIES = ["", "?arm_labels=key&blinded=0", "?sees_arms=1&unblind=1&role=coordinator",
         "?population=itt&sections=flow&format=json"]


def test_blinded_statistician_sees_codes_by_every_url(app, signed_in, make_trial):
    make_trial(KEY, n=60)
    client = signed_in("statistician")
    pages = []
    for query in TRIES:
        answer = client.get(URL + query)
        assert answer.status_code == 200, query
        html = answer.get_data(as_text=True)
        assert blinded_leaks(html, definition(app)) == [], query
        pages.append(_estimates(html))
    assert all(p == pages[0] for p in pages) and pages[0]
    report = client.get(f"/api/v1/studies/{KEY}/report.html" + "?arm_labels=key&blinded=0")
    assert blinded_leaks(report.get_data(as_text=True), definition(app)) == []
    assert _estimates(report.get_data(as_text=True)) == pages[0]  # one macro: page and report agree


def test_page_for_a_coordinator_and_a_statistician_who_may_unblind(app, signed_in, make_trial):
    make_trial(KEY, n=60)
    for client in (signed_in("coordinator"), signed_in("statistician", may_unblind=True)):
        answer = client.get(URL)
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert {"control", "reminders"} <= set(blinded_leaks(html, definition(app)))
        page = Page(html)
        assert len(page.images) == PLOTS and all(len(i["alt"]) > 20 for i in page.images)
        assert not RAW.search(" ".join(page.text))
        assert [u for u in external_urls(page) if not u.startswith("/")] == []  # only this server
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")  # the strict one
        assert ' style="' not in html and "<style" not in html and "<script" not in html
        assert html.count("<h1") == 1 and "reminders vs control" in html


def test_flags_and_not_estimable_sections_are_shown_plainly(app, signed_in, make_trial):
    make_trial(KEY, n=60, weights=[1, 4])  # far from the planned 1:1: a sample ratio mismatch
    html = signed_in("statistician").get(URL).get_data(as_text=True)
    assert 'class="flags" role="alert"' in html and "sample ratio mismatch in allocation" in html
    assert "not applicable — not a factorial study" in html


def test_early_trial_and_refusals(app, signed_in, load_study):
    load_study(KEY)
    client = signed_in("statistician")
    empty = client.get(URL)
    assert empty.status_code == 200 and "not estimable" in empty.get_data(as_text=True)
    assert client.get("/staff/studies/nope/results").status_code == 404
    assert signed_in("therapist").get(URL).status_code in (401, 403)
