"""Security headers on every hwtrial answer, and the Secure cookie flag behind a proxy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "hwtrial" / "templates"


@pytest.fixture
def answers(client, make_user, bearer):
    token = bearer(make_user("coordinator")[1])
    return {"page": client.get("/login"), "api": client.get("/api/v1/studies/", headers=token),
            "error": client.get("/api/v1/studies/nope", headers=token),
            "unrouted": client.get("/api/v1/nothing-here", headers=token), "refused": client.get("/staff")}


def test_csp_without_inline_script(answers):
    for name, answer in answers.items():
        csp = answer.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, name
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, name


def test_frame_options_referrer_and_nosniff(answers):
    for name, answer in answers.items():
        assert answer.headers["X-Frame-Options"] == "DENY", name
        assert answer.headers["Referrer-Policy"] == "no-referrer", name
        assert answer.headers["X-Content-Type-Options"] == "nosniff", name


def test_no_store_except_static(answers, client):
    for name, answer in answers.items():
        assert answer.headers["Cache-Control"] == "no-store", name
    static = client.get("/static/hwtrial/hwtrial.css")
    static.close()  # a file response: close it (warnings are errors)
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


#: The trial report is one self-contained file (it opens with no network): its API answer carries
#: a CSP of its own that allows exactly its one <style> element, by hash (hwtrial/api/report.py).
SELF_CONTAINED = {"report/report.html"}


def test_templates_have_no_inline_script_or_style():
    """The CSP would block them: scripts and styles live in static files."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if path.relative_to(TEMPLATES).as_posix().endswith(tuple(SELF_CONTAINED)):
            text = text.replace("<style>{{ report_css|safe }}</style>", "")  # only that element
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text)
        assert not scripts, f"{path.name}: inline script"
        assert "<style" not in text and not re.search(r"\sstyle=", text), f"{path.name}: inline style"
        assert not re.search(r"\son[a-z]+=", text), f"{path.name}: inline event handler"


def test_nothing_rendered_turns_escaping_off():
    """Output escaping held (0 of 10 pages rendered stored text unescaped): keep it that way.
    Only the report's own stylesheet is marked safe; no template or view marks text safe."""
    code = Path(__file__).resolve().parents[2] / "hwtrial"
    found = []
    for path in [*TEMPLATES.rglob("*.html"), *code.rglob("*.py")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\|\s*safe\b|\bMarkup\(|autoescape\s+false|autoescape=False", line):
                found.append(f"{path.relative_to(code).as_posix()}:{number}: {line.strip()}")
    assert found == ["templates/hwtrial/report/report.html:9: <style>{{ report_css|safe }}</style>"]


def test_secure_cookie_follows_the_public_url(database_url, tmp_path):
    """Behind a TLS proxy on another host the request looks like http: the setting decides."""
    from tests.conftest import make_app

    app = make_app(database_url, HWTRIAL_PUBLIC_URL="https://trial.example")
    assert app.config["HWTRIAL_SECURE_COOKIES"] is True
    answer = app.test_client().get("/login")
    assert "Secure" in answer.headers["Set-Cookie"]
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = make_app(database_url, HWTRIAL_SECURE_COOKIES=False).test_client().get("/login")
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_proxy_count_trusts_forwarded_headers(database_url):
    """With HWTRIAL_PROXY_COUNT the proxy's X-Forwarded-Proto makes the request https."""
    from tests.conftest import make_app

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    behind = make_app(database_url, HWTRIAL_PROXY_COUNT=1).test_client().get("/login", headers=forwarded)
    assert "Secure" in behind.headers["Set-Cookie"] and "Strict-Transport-Security" in behind.headers
    direct = make_app(database_url).test_client().get("/login", headers=forwarded)
    assert "Secure" not in direct.headers["Set-Cookie"]
