"""The export API (streamed, with Content-Disposition; 403/404 as the policy says) and CLI."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pandas as pd
import pytest


@pytest.fixture
def study(trial):
    return trial()


def test_table_download_headers_and_body(client, study, make_user, bearer):
    key, data = study
    _, token = make_user("statistician")
    got = client.get(f"/api/v1/studies/{key}/exports/homework.csv", headers=bearer(token))
    assert got.status_code == 200
    assert got.headers["Content-Disposition"] == f'attachment; filename="{key}-homework.csv"'
    assert got.mimetype == "text/csv" and got.is_streamed
    body = got.get_data()
    assert int(got.headers["Content-Length"]) == len(body)
    assert got.headers["X-Hwtrial-SHA256"] == hashlib.sha256(body).hexdigest()
    assert len(pd.read_csv(io.BytesIO(body))) > 100


def test_bundle_download(client, study, make_user, bearer):
    key, _ = study
    _, token = make_user("coordinator")
    got = client.get(f"/api/v1/studies/{key}/exports/bundle.zip?formats=csv,dta&unblinded=true",
                     headers=bearer(token))
    assert got.status_code == 200, got.get_json()
    assert got.headers["Content-Disposition"] == f'attachment; filename="{key}-export.zip"'
    with zipfile.ZipFile(io.BytesIO(got.get_data())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert "tables/participants.dta" in archive.namelist()
        for name, sha in manifest["files"].items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == sha
    assert manifest["formats"] == ["csv", "dta"] and manifest["filters"]["blinded"] is False
    assert manifest["exported_by"].startswith("user:")


@pytest.mark.parametrize(("role", "url", "status"), [
    ("therapist", "participants.csv", 403),
    ("statistician", "participants.csv?unblinded=true", 403),
    ("statistician", "participants.csv?identified=true", 403),
    ("statistician", "reminders.csv", 403),
    ("statistician", "nothing.csv", 404),
    ("statistician", "participants.xlsx", 404),
    ("statistician", "bundle.zip?formats=csv,xlsx", 422),
    ("statistician", "participants.csv?date_shift_days=0", 422),
    ("coordinator", "participants.csv?identified=true&unblinded=true", 200),
])
def test_refusals(client, study, make_user, bearer, role, url, status):
    key, _ = study
    _, token = make_user(role)
    got = client.get(f"/api/v1/studies/{key}/exports/{url}", headers=bearer(token))
    assert got.status_code == status
    if status >= 400:
        assert got.get_json()["code"] == status


def test_outsider_token_cannot_tell_the_study_exists(app, client, study, make_user, bearer, load_study):
    from hwtrial.models import ApiToken
    from hwtrial.services import users

    key, _ = study
    other = load_study("mrt-reminders")
    user_id, _ = make_user("coordinator")
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        from hwtrial.models import User

        issued = users.issue_token(session, "test", session.get(User, user_id), study_keys=[other])
        session.commit()
        assert session.query(ApiToken).count() >= 1
    known = client.get(f"/api/v1/studies/{key}/exports/participants.csv", headers=bearer(issued.secret))
    unknown = client.get("/api/v1/studies/no-such/exports/participants.csv", headers=bearer(issued.secret))
    assert known.status_code == unknown.status_code == 404
    assert known.get_json()["message"].replace(key, "X") == unknown.get_json()["message"].replace("no-such", "X")


def test_cli_to_zip_and_directory(runner, study, tmp_path):
    key, _ = study
    got = runner.invoke(args=["hwtrial", "export", key, "--format", "csv,sav", "--out", str(tmp_path / "b.zip")])
    assert got.exit_code == 0, got.output
    assert got.output.count("\n") == 1 and "sha256" in got.output  # piped: no progress bar
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        assert {"manifest.json", "codebook.csv", "codebook.html", "tables/homework.sav"} <= set(archive.namelist())
    got = runner.invoke(args=["hwtrial", "export", key, "--format", "parquet", "--out", str(tmp_path / "dir")])
    assert got.exit_code == 0, got.output
    manifest = json.loads((tmp_path / "dir" / "manifest.json").read_text())
    for name, sha in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "dir" / name).read_bytes()).hexdigest() == sha
    again = runner.invoke(args=["hwtrial", "export", key, "--out", str(tmp_path / "dir")])
    assert again.exit_code == 1 and "not empty" in again.output
    bad = runner.invoke(args=["hwtrial", "export", key, "--format", "xlsx", "--out", str(tmp_path / "c.zip")])
    assert bad.exit_code == 1 and "unknown export format" in bad.output


def test_cli_progress_bar_on_a_terminal(app, study, tmp_path, monkeypatch):
    """The bar is drawn for a terminal: the callback the CLI passes gets every table's rows."""
    from hwtrial.cli.export import _Bar

    key, _ = study
    seen = []
    bar = _Bar()
    original = bar.__call__

    def spy(table, done, total):
        seen.append((table, done, total))
        original(table, done, total)

    from hwtrial.services import exports

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        exports.export_bundle(session, None, key, "csv", out=tmp_path / "b.zip", progress=spy)
        session.rollback()
    bar.close()
    last = {t: (d, n) for t, d, n in seen}
    assert last["homework"][0] == last["homework"][1] > 0


def test_downloads_leave_nothing_on_disk(client, study, make_user, bearer, monkeypatch, tmp_path):
    """A download's temporary files are gone once it is streamed, read to the end or not
    (a client that drops the connection must not leave health data in the temp folder)."""
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    key, _ = study
    _, token = make_user("coordinator")
    first = client.get(f"/api/v1/studies/{key}/exports/homework.csv", headers=bearer(token))
    second = client.get(f"/api/v1/studies/{key}/exports/bundle.zip?formats=csv", headers=bearer(token))
    assert first.status_code == second.status_code == 200
    assert list(scratch.iterdir()) == []  # nothing left, before either body is read
    assert first.get_data() and zipfile.is_zipfile(io.BytesIO(second.get_data()))
