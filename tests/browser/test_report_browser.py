"""Real Chromium: the trial report opened from a file and from the server, and the
statistician's results page at phone and desktop widths.

Checks that every plot image decoded (``naturalWidth > 0``), that the page asked for nothing
outside the file or the server (Playwright request events), and that the report's own CSP
lets its one style element apply. Screenshots go to ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hwtrial.cli import hwtrial_group
from hwtrial.models import User
from hwtrial.services import sessions
from tests.report.test_report_html import KEY, PLOTS
from tests.results.conftest import make_trial  # noqa: F401  (fixture)

from .conftest import ARTIFACTS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]






def staff_cookie(app, make_user, role: str) -> str:
    user_id, _ = make_user(role)
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        cookie = sessions.open_session(session, timedelta(hours=1), user=session.get(User, user_id))
        session.commit()
    return cookie


def watch(page) -> dict[str, list[str]]:
    """Every request URL the page makes, and every console complaint (CSP refusals among them)."""
    seen = {"requests": [], "console": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type in ("error", "warning") else None)
    return seen


def plots_rendered(page) -> list[int]:
    return page.eval_on_selector_all("figure.plot img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def test_report_file_opens_without_network(app, runner, make_trial, browser, tmp_path):  # noqa: F811
    make_trial(KEY, n=60)
    out = tmp_path / "report.html"
    assert runner.invoke(hwtrial_group, ["report", KEY, "--out", str(out)]).exit_code == 0
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = watch(page)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    widths = plots_rendered(page)
    assert len(widths) == PLOTS and all(w > 0 for w in widths), widths
    assert [u for u in seen["requests"] if u != out.as_uri() and not u.startswith("data:")] == []
    assert page.locator("h1").count() == 1
    page.screenshot(path=str(ARTIFACTS / "report-file-1280.png"), full_page=True)
    page.close()


def test_report_from_the_server_under_its_own_csp(app, make_trial, make_user, browser, server):  # noqa: F811
    make_trial(KEY, n=60)
    cookie = staff_cookie(app, make_user, "statistician")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": "hwtrial_session", "value": cookie, "url": server}])
    page = context.new_page()
    seen = watch(page)
    url = f"{server}/api/v1/studies/{KEY}/report.html"
    # The answer is an attachment (a browser saves it); to see it rendered under the answer's
    # own CSP, the real answer is passed to the page with every header but that one.
    page.route(url, lambda route: route.fulfill(response=(r := route.fetch()), headers={
        k: v for k, v in r.headers.items() if k.lower() != "content-disposition"}))
    page.goto(url)
    page.wait_for_load_state("load")
    widths = plots_rendered(page)
    assert len(widths) == PLOTS and all(w > 0 for w in widths), widths
    assert [u for u in seen["requests"] if not u.startswith((server + "/", "data:"))] == []
    assert not [m for m in seen["console"] if "Content Security Policy" in m], seen["console"]
    # the hashed style element applied (headings get their rule)
    assert page.eval_on_selector("h2", "h => getComputedStyle(h).borderBottomWidth") == "2px"
    assert "blinded" in page.inner_text("header")
    page.screenshot(path=str(ARTIFACTS / "report-server-1280.png"), full_page=True)
    page.unroute(url)
    # the results page's link downloads the same report as a file
    results = context.new_page()
    results.goto(f"{server}/staff/studies/{KEY}/results")
    with results.expect_download() as download:
        results.get_by_role("link", name="Download the trial report (HTML)").click()
    assert download.value.suggested_filename == f"{KEY}-report.html"
    context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_results_page_at_phone_and_desktop_widths(app, make_trial, make_user, browser, server, width):  # noqa: F811
    make_trial(KEY, n=60)
    cookie = staff_cookie(app, make_user, "statistician")
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "hwtrial_session", "value": cookie, "url": server}])
    page = context.new_page()
    seen = watch(page)
    page.goto(f"{server}/staff/studies/{KEY}/results")
    widths = plots_rendered(page)
    assert len(widths) == PLOTS and all(w > 0 for w in widths), widths
    assert [u for u in seen["requests"] if not u.startswith((server + "/", "data:"))] == []
    assert not [m for m in seen["console"] if "Content Security Policy" in m], seen["console"]
    # nothing wider than the screen: tables scroll inside their box, plots shrink
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    images = page.eval_on_selector_all("figure.plot img", "imgs => imgs.map(i => i.getBoundingClientRect().width)")
    assert max(images) <= width
    text = page.inner_text("main")
    assert "control" not in text and "Allocated to A" in page.eval_on_selector(
        "figure.plot img", "i => atob(i.src.split(',')[1])")
    page.keyboard.press("Tab")  # focus is visible on the skip link
    page.screenshot(path=str(ARTIFACTS / f"staff-results-{width}.png"), full_page=True)
    context.close()
