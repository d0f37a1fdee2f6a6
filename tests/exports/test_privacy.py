"""Blinding, identifiers, withdrawal, date shifting and the audit entry of every export."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
import sqlalchemy as sa

from hwtrial.errors import ServiceError
from hwtrial.models import AuditEntry, Study
from hwtrial.services import exports
from tests.blinding_leaks import leaks_in_json, leaks_in_text, revealing_strings

from .conftest import SECRET_EMAIL

STUDIES = ("reminder-rct", "therapist-cluster", "factorial-screening")


def _bundle(app, key, path, principal=None, formats="csv,parquet,sav,dta", **options):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        got = exports.export_bundle(session, principal, key, formats, out=path,
                                    options=exports.ExportOptions(**options))
        session.commit()
    return got


def _strings_of(name: str, data: bytes, tmp_path) -> tuple[list[str], str]:
    """Every string value and label a reader of the file would see (and the raw text)."""
    if name.endswith((".csv", ".json", ".html")):
        text = data.decode("utf-8")
        values = [c for row in __import__("csv").reader(io.StringIO(text)) for c in row] if name.endswith(".csv") \
            else []
        if name.endswith(".json"):
            values = [json.dumps(json.loads(text))]
        return values, text
    if name.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(data))
        values = [str(v) for col in table.columns for v in col.to_pylist() if isinstance(v, str)]
        meta = json.dumps({f.name: {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
                           for f in table.schema})
        return values + [f.name for f in table.schema], meta
    path = tmp_path / name.replace("/", "_")
    path.write_bytes(data)
    frame, meta = (pyreadstat.read_sav if name.endswith(".sav") else pyreadstat.read_dta)(str(path))
    values = [v for col in frame.columns for v in frame[col] if isinstance(v, str)]
    labels = [lab for labs in meta.variable_value_labels.values() for lab in labs.values()]
    return values + labels + list(meta.column_names), json.dumps(meta.column_names_to_labels)


@pytest.mark.parametrize("name", STUDIES)
def test_blinded_bundle_has_no_arm_key_feature_or_identifier(app, trial, tmp_path, name):
    key, data = trial(name)
    with app.app_context():
        definition = app.extensions["hwtrial"].db.session.query(Study).filter_by(key=key).one().definition
    revealing = revealing_strings(definition)
    secrets = {SECRET_EMAIL} | {p["external_id"] for p in data.participants}
    got = _bundle(app, key, tmp_path / "b.zip")
    leaks = []
    with zipfile.ZipFile(got.path) as archive:
        names = archive.namelist()
        for member in names:
            values, text = _strings_of(member, archive.read(member), tmp_path)
            found = leaks_in_json(values, revealing, secrets) + leaks_in_text(text, revealing, secrets)
            leaks += [f"{member}: {f}" for f in found]
    assert leaks == []
    assert "tables/decision_points.csv" not in names and "tables/reminders.csv" not in names


def test_unblinded_bundle_has_arm_keys_and_revealing_tables(app, trial, tmp_path):
    key, data = trial()
    got = _bundle(app, key, tmp_path / "b.zip", formats="csv", unblinded=True)
    with app.app_context():
        definition = app.extensions["hwtrial"].db.session.query(Study).filter_by(key=key).one().definition
    with zipfile.ZipFile(got.path) as archive:
        people = pd.read_csv(archive.open("tables/participants.csv"))
        assert "tables/reminders.csv" in archive.namelist()
        values, _ = _strings_of("tables/participants.csv", archive.read("tables/participants.csv"), tmp_path)
    assert set(people["arm_key"]) == {a["arm_key"] for a in data.allocations}
    # the scanner of the blinded test does find arm keys where they are
    assert leaks_in_json(values, revealing_strings(definition))


def test_identifiers_only_when_identified(app, trial, tmp_path):
    key, data = trial()
    plain = _bundle(app, key, tmp_path / "a.zip", formats="csv")
    with zipfile.ZipFile(plain.path) as archive:
        people = pd.read_csv(archive.open("tables/participants.csv"))
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert {"email", "external_id", "source_info"} & set(people.columns) == set()
    assert SECRET_EMAIL.encode() not in everything and b"submission_json" not in everything.split(b"codebook")[0]
    named = _bundle(app, key, tmp_path / "b.zip", formats="csv", identified=True)
    with zipfile.ZipFile(named.path) as archive:
        people = pd.read_csv(archive.open("tables/participants.csv"))
    assert SECRET_EMAIL in set(people["email"].dropna())


def test_withdrawn_from_data_use_left_out_and_counted(app, trial, tmp_path):
    key, data = trial()
    excluded = {p["id"] for p in data.participants if p["exclude_data"]}
    assert excluded  # the generated trial has some
    got = _bundle(app, key, tmp_path / "b.zip", formats="csv")
    with zipfile.ZipFile(got.path) as archive:
        for table in ("participants", "homework", "events", "questionnaires", "consents", "allocations"):
            ids = set(pd.read_csv(archive.open(f"tables/{table}.csv"))["participant_id"])
            assert ids and not ids & excluded, table
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["excluded_withdrawn"]["count"] == len(excluded)
    assert manifest["rows"]["participants"] == len(data.participants) - len(excluded)


def test_date_shift_keeps_intervals(app, trial, tmp_path):
    key, data = trial()
    got = _bundle(app, key, tmp_path / "b.zip", formats="parquet", date_shift_days=30)
    with zipfile.ZipFile(got.path) as archive:
        hw = pd.read_parquet(io.BytesIO(archive.read("tables/homework.parquet")))
        manifest = json.loads(archive.read("manifest.json"))
    source = {i["id"]: i for i in data.instances}
    shifts = set()
    for row in hw.itertuples():
        inst = source[row.instance_id]
        shift = row.due_at.to_pydatetime() - inst["due_at"]
        assert row.open_at.to_pydatetime() - inst["open_at"] == shift  # same shift, intervals kept
        assert -30 <= shift.days <= -1 and shift.seconds == 0
        shifts.add((row.participant_id, shift))
    assert len({s for _, s in shifts}) > 1  # per participant, not one global shift
    assert len({p for p, _ in shifts}) == len(shifts)
    assert manifest["filters"]["date_shift_days"] == 30


def test_every_export_is_audited_with_the_files_sha256(app, trial, tmp_path):
    key, _ = trial()
    got = _bundle(app, key, tmp_path / "b.zip", formats="csv")
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "study.export")
                                .order_by(AuditEntry.seq.desc())).first()
    payload = json.loads(entry.payload)
    assert payload["after"]["sha256"] == hashlib.sha256(got.path.read_bytes()).hexdigest() == got.sha256
    assert payload["after"]["filters"]["blinded"] is True and payload["after"]["formats"] == ["csv"]
    assert entry.study_key == key and entry.actor == "cli"


def test_permissions(app, trial, make_user, tmp_path):
    from hwtrial.auth.principal import Principal
    from hwtrial.models import User

    key, _ = trial()
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        stat = Principal(role="statistician", user=session.get(User, make_user("statistician")[0]), via="token")
        for options, problem in (({"unblinded": True}, "unblinding"), ({"identified": True}, "identified")):
            with pytest.raises(ServiceError) as caught:
                exports.export_table(session, stat, key, "participants", "csv", exports.ExportOptions(**options),
                                     workdir=tmp_path)
            assert caught.value.status == 403 and problem in caught.value.message
        with pytest.raises(ServiceError) as caught:
            exports.export_table(session, stat, key, "decision_points", "csv", workdir=tmp_path)
        assert caught.value.status == 403
        with pytest.raises(ServiceError) as caught:
            exports.export_bundle(session, stat, key, "csv,xlsx")
        assert caught.value.status == 422 and "formats" in caught.value.errors
        session.rollback()
