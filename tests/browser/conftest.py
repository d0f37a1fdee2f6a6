"""Browser tests: the homework factories, a served app, Chromium, screenshots and axe-core.

Screenshots go to ``$HWTRIAL_BROWSER_ARTIFACTS`` or ``tests/artifacts/`` (gitignored).
axe-core is vendored in ``vendor/`` (see its README) and injected into each page; no CDN.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from ..homework.conftest import enrol, load_test_study, shift, shift_past  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("HWTRIAL_BROWSER_ARTIFACTS")
                 or Path(__file__).resolve().parent.parent / "artifacts")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
#: Impacts that fail the accessibility check (axe also reports "moderate" and "minor").
BLOCKING = ("serious", "critical")


@pytest.fixture
def server(app):
    """The app under test served by werkzeug in a thread; yields the base URL."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


def phone(browser, locale: str = "en-GB", timezone: str = "Europe/London", **options):
    """A 390 px phone page in ``locale`` (Accept-Language too) and ``timezone``.

    ``bypass_csp`` lets the axe script tag in: the pages' CSP allows no inline script, and
    Playwright injects the file's text inline. The pages' own scripts still come from 'self'.
    """
    context = browser.new_context(viewport=PHONE, locale=locale, timezone_id=timezone, bypass_csp=True,
                                  **options)
    return context.new_page()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now (WCAG 2.x A/AA rules)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


def check_page(page, name: str) -> None:
    """Screenshot the page, then fail on any serious or critical accessibility violation."""
    shot(page, name)
    found = axe_violations(page)
    assert found == [], f"{name}: {found}"
