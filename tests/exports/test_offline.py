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


def _arm_events(app, data):
    """Arm-revealing events (only the first arm's participants are exposed to a feature)."""
    import hashlib

    import sqlalchemy as sa

    from hwtrial.models import Allocation, Event
    from tests.results.conftest import T0

    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        first = session.scalars(sa.select(Allocation.arm_key).order_by(Allocation.id)).first()
        people = session.scalars(sa.select(Allocation.participant_id).where(Allocation.arm_key == first)).all()
        for i, pid in enumerate(people):
            cid = f"exp{pid}"
            session.add(Event(study_id=data.participants[0]["study_id"], participant_id=pid, client_event_id=cid,
                              body_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                              type=("feature_exposed", "reminder_clicked")[i % 2], client_time=T0))
        session.commit()


@pytest.mark.parametrize("name", ["reminder-rct", "factorial-screening", "therapist-cluster", "mrt-reminders"])
def test_blinded_bundle_is_the_blinded_api_body(app, client, trial, make_user, bearer, tmp_path, name):
    """Every section of a blinded caller's results, byte for byte, from a blinded bundle: the
    blinded API leaves out what the bundle cannot carry (self-review depth, arm-only event
    types, decision points where there are several arms) and the bundle carries the blinded
    factorial cells and a one-arm study's features."""
    key, data = trial(name)
    _arm_events(app, data)
    _, token = make_user("statistician")
    api = client.get(f"/api/v1/studies/{key}/results", headers=bearer(token))
    assert api.status_code == 200 and api.get_json()["blinded"] is True
    _bundle(app, key, tmp_path / "b.zip")
    got = CliRunner().invoke(analyze, [str(tmp_path / "b.zip"), "--json"])
    assert got.exit_code == 0, got.output
    assert got.output.rstrip("\n") == api.get_data(as_text=True).rstrip("\n")
    sections = api.get_json()["sections"]
    depth = sections["engagement"]["metrics"]["self_review_depth"]["by_arm"]
    assert depth["status"] == "not_applicable" and "blinded" in depth["reason"]
    if name == "mrt-reminders":  # one arm: decision points conceal nothing, the MRT is computed
        assert sections["mrt"]["status"] == "ok", sections["mrt"]
    else:
        assert sections["mrt"]["status"] == "not_applicable"
    if name == "factorial-screening":
        assert sections["factorial"]["status"] == "ok"
        assert [f["name"] for f in sections["factorial"]["factors"]] == ["A", "B", "C"][:len(sections["factorial"]["factors"])]


def test_blinded_events_leave_out_arm_only_types(app, client, trial, make_user, bearer):
    """The blinded document's event counts are those of the blinded export (no arm-only types)."""
    key, data = trial()
    _, token = make_user("statistician")
    before = client.get(f"/api/v1/studies/{key}/results?sections=engagement", headers=bearer(token)).get_json()
    _arm_events(app, data)
    after = client.get(f"/api/v1/studies/{key}/results?sections=engagement", headers=bearer(token)).get_json()
    assert after["sections"]["engagement"]["metrics"]["n_events"] == before["sections"]["engagement"]["metrics"]["n_events"]
    unblinded = client.get(f"/api/v1/studies/{key}/results?sections=engagement",
                           headers=bearer(make_user("coordinator")[1])).get_json()
    assert unblinded["sections"]["engagement"]["metrics"]["n_events"] != after["sections"]["engagement"]["metrics"]["n_events"]


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
