"""``hwtrial analyze EXPORT.zip`` recomputes the results API's body byte for byte, offline."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hwtrial.cli.analyze import analyze
from hwtrial.services import exports


def _bundle(app, key, path, **options):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        exports.export_bundle(session, None, key, "parquet", out=path, options=exports.ExportOptions(**options))
        session.commit()
    return path


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_offline_json_is_the_api_body(app, client, trial, make_user, bearer, tmp_path, fmt):
    key, data = trial()
    _, token = make_user("coordinator")
    api = client.get(f"/api/v1/studies/{key}/results", headers=bearer(token))
    assert api.status_code == 200
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        exports.export_bundle(session, None, key, fmt, out=tmp_path / "b.zip",
                              options=exports.ExportOptions(unblinded=True))
        session.commit()
    # a plain CliRunner: no app, no database configuration (offline)
    got = CliRunner().invoke(analyze, [str(tmp_path / "b.zip"), "--json"])
    assert got.exit_code == 0, got.output
    assert got.output.rstrip("\n") == api.get_data(as_text=True).rstrip("\n")


def test_offline_table_is_the_study_table(app, runner, trial, tmp_path):
    key, _ = trial()
    _bundle(app, key, tmp_path / "b.zip", unblinded=True)
    online = runner.invoke(args=["hwtrial", "analyze", key])
    offline = CliRunner().invoke(analyze, [str(tmp_path / "b.zip")])
    assert online.exit_code == 0 and offline.exit_code == 0, online.output + offline.output
    assert offline.output == online.output
    assert "== outcomes" in offline.output


def test_blinded_bundle_reproduces_the_blinded_flow(app, client, trial, make_user, bearer, tmp_path):
    key, _ = trial()
    _, token = make_user("statistician")
    api = client.get(f"/api/v1/studies/{key}/results?sections=flow,srm,outcomes", headers=bearer(token)).get_json()
    _bundle(app, key, tmp_path / "b.zip")
    got = CliRunner().invoke(analyze, [str(tmp_path / "b.zip"), "--json", "--sections", "flow,srm,outcomes"])
    assert got.exit_code == 0, got.output
    import json

    assert json.loads(got.output) == api
    assert api["blinded"] is True


def test_a_tampered_bundle_is_refused(app, trial, tmp_path):
    import zipfile

    key, _ = trial()
    src = _bundle(app, key, tmp_path / "b.zip", unblinded=True)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item)
            zout.writestr(item, body + b"x" if item.filename == "tables/homework.parquet" else body)
    got = CliRunner().invoke(analyze, [str(bad)])
    assert got.exit_code == 1
    assert "tables/homework.parquet does not match the SHA-256" in got.output
