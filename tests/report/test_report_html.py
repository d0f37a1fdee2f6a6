"""The report as a file: every plot present with alt text, nothing loaded from outside,
blinded reports without arm names, the API's headers, the CLI, and early-trial states."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hwtrial.cli import hwtrial_group
from hwtrial.models import Participant, Study
from tests.enrolment.helpers import enrol, rct

from .html_checks import SVG_URI, Page, blinded_leaks, external_urls

KEY = "reminder-rct"
#: consort, enrolment, balance (site, severity), weekly adherence, adherence per arm,
#: engagement (minutes, edits, effort), forests (outcomes, adherence)
PLOTS = 11
RAW = re.compile(r"\w+(Warning|Error|Exception)\b|Traceback|invalid value encountered")


def definition(app, key=KEY):
    with app.app_context():
        return app.extensions["hwtrial"].db.session.scalar(sa.select(Study).where(Study.key == key)).definition


def check_page(html: str, plots: int = PLOTS) -> Page:
    page = Page(html)
    assert len(page.images) == plots
    for image in page.images:
        assert image["src"].startswith(SVG_URI) and len(image.get("alt", "")) > 20
    assert all(svg.startswith("<svg") for svg in page.svgs)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert external_urls(page) == []
    assert not RAW.search(" ".join(page.text)), RAW.search(" ".join(page.text))
    return page


def test_api_report_for_a_blinded_statistician(app, client, make_trial, make_user, bearer):
    make_trial(KEY, n=60)
    answer = client.get(f"/api/v1/studies/{KEY}/report.html", headers=bearer(make_user("statistician")[1]))
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    csp = answer.headers["Content-Security-Policy"]
    assert re.fullmatch(r"default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:; "
                        r"base-uri 'none'; form-action 'none'; frame-ancestors 'none'", csp)
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{KEY}-report.html"'
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Frame-Options"] == "DENY"
    html = answer.get_data(as_text=True)
    page = check_page(html)
    assert blinded_leaks(html, definition(app)) == []
    text = " ".join(page.text)
    assert "Allocated to A" in " ".join(page.svgs) and "blinded" in text
    # the style hash is the hash of the one style element
    import base64
    import hashlib

    [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() in csp


def test_unblinded_report_names_the_arms(app, client, make_trial, make_user, bearer):
    make_trial(KEY, n=60)
    html = client.get(f"/api/v1/studies/{KEY}/report.html", headers=bearer(make_user("coordinator")[1])).get_data(as_text=True)
    check_page(html)
    assert set(blinded_leaks(html, definition(app))) >= {"control", "reminders", "No reminders", "Email reminders"}


def test_api_refuses_unknown_study_and_roles(client, make_user, bearer, load_study):
    load_study(KEY)
    unknown = client.get("/api/v1/studies/nope/report.html", headers=bearer(make_user("statistician")[1]))
    assert unknown.status_code == 404 and unknown.is_json and unknown.json["code"] == 404
    assert client.get(f"/api/v1/studies/{KEY}/report.html", headers=bearer(make_user("therapist")[1])).status_code == 403
    assert client.get(f"/api/v1/studies/{KEY}/report.html").status_code == 401


def test_cli_writes_the_report(app, runner, make_trial, tmp_path):
    make_trial(KEY, n=30)
    out = tmp_path / "report.html"
    result = runner.invoke(hwtrial_group, ["report", KEY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!doctype html>") and f"wrote {out}" in result.output
    check_page(html)
    assert "control" in blinded_leaks(html, definition(app))
    blinded = tmp_path / "blinded.html"
    assert runner.invoke(hwtrial_group, ["report", KEY, "--out", str(blinded), "--blinded"]).exit_code == 0
    assert blinded_leaks(blinded.read_text(), definition(app)) == []
    missing = runner.invoke(hwtrial_group, ["report", "nope", "--out", str(tmp_path / "x.html")])
    assert missing.exit_code == 1 and "no study 'nope'" in missing.output
    nowhere = runner.invoke(hwtrial_group, ["report", KEY, "--out", str(tmp_path / "no" / "x.html")])
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output


def _withdraw_all(app):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        for person in session.scalars(sa.select(Participant)):
            person.status = "withdrawn"
            person.withdrawn_at = person.enrolled_at
        session.commit()


@pytest.mark.parametrize("state", ["nobody", "one participant", "all withdrawn", "one arm"])
def test_every_early_trial_state_renders(app, client, load_study, make_user, bearer, state):
    key = "mrt-reminders" if state == "one arm" else KEY
    load_study(key)
    coordinator = bearer(make_user("coordinator")[1])
    if state == "one arm":
        with app.app_context():
            arms = definition(app, key)["arms"]
        assert len(arms) == 1
        answer = enrol(client, coordinator, key, "solo", {})
        assert answer.status_code == 201, answer.json
    elif state != "nobody":
        for i in range(1 if state == "one participant" else 3):
            assert rct(client, coordinator, f"early-{i}").status_code == 201
        if state == "all withdrawn":
            _withdraw_all(app)
    answer = client.get(f"/api/v1/studies/{key}/report.html", headers=bearer(make_user("statistician")[1]))
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    with app.app_context():
        strata = len(definition(app, key).get("stratification") or [])
    page = check_page(html, plots=PLOTS - 2 + strata)
    assert "not estimable" in " ".join(page.text) or state == "one arm"
    assert blinded_leaks(html, definition(app, key)) == []
