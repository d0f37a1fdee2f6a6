"""Round trips: .sav and .dta read back with pyreadstat and pandas, Parquet with pyarrow, CSV."""

from __future__ import annotations

import csv
import html
from datetime import UTC, datetime

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from hwtrial.exports.spec import value_codes
from hwtrial.exports.tables import REGISTRY
from hwtrial.services import exports


def _export(app, key, table, fmt, tmp_path, **options):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        got = exports.export_table(session, None, key, table, fmt, exports.ExportOptions(**options), workdir=tmp_path)
        session.commit()
    return got


def _csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def homework_csv(app, trial, tmp_path):
    key, data = trial()
    return key, data, _csv(_export(app, key, "homework", "csv", tmp_path).path)


def test_csv_times_booleans_and_missing(homework_csv):
    key, data, rows = homework_csv
    by_id = {int(r["instance_id"]): r for r in rows}
    source = {i["id"]: i for i in data.instances}
    assert set(by_id) <= set(source) and len(by_id) > 100
    for iid, row in by_id.items():
        inst = source[iid]
        assert row["due_at"] == inst["due_at"].astimezone(UTC).isoformat(timespec="microseconds")
        assert row["late"] == ("1" if inst["late"] else "0")
        if inst["submitted_at"] is None:
            assert row["submitted_at"] == ""  # missing: the empty field
        assert datetime.fromisoformat(row["open_at"]).tzinfo is not None


def test_parquet_types_and_labels(app, trial, tmp_path):
    key, data = trial()
    table = pq.read_table(_export(app, key, "homework", "parquet", tmp_path).path)
    types = {f.name: str(f.type) for f in table.schema}
    assert types["instance_id"] == "int64" and types["active_seconds"] == "double"
    assert types["late"] == "bool" and types["due_at"] == "timestamp[us, tz=UTC]"
    assert types["state"] == "string"
    assert table.schema.field("late").metadata[b"label"] == b"Submitted after the due time"
    frame = table.to_pandas()
    source = {i["id"]: i for i in data.instances}
    for row in frame.itertuples():
        assert row.due_at.to_pydatetime() == source[row.instance_id]["due_at"]
        assert row.state == source[row.instance_id]["state"]


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_labelled_round_trip(app, trial, tmp_path, fmt):
    key, data = trial()
    path = _export(app, key, "participants", fmt, tmp_path, unblinded=True).path
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(path))  # codes, with the labels in meta
    labelled, _ = reader(str(path), apply_value_formats=True)
    from hwtrial.exports.bundle import facts_of
    from hwtrial.models import Study

    with app.app_context():
        study = app.extensions["hwtrial"].db.session.query(Study).filter_by(key=key).one()
        columns = {c.name: c for c in REGISTRY["participants"].columns(facts_of(study))}
    assert meta.column_names_to_labels["arm_code"] == "Arm (blinded code)"
    assert meta.variable_value_labels["status"] == {1.0: "active", 2.0: "withdrawn (stays in ITT)"}
    codes = value_codes(columns["arm_key"])
    expected = {p["id"]: a["arm_key"] for p, a in zip(data.participants, data.allocations, strict=True)
                if not p["exclude_data"]}
    assert sorted(frame["participant_id"].astype(int)) == sorted(expected)
    for row in frame.itertuples():
        assert row.arm_key == codes[expected[int(row.participant_id)]]
    # pandas reads the same file with the labels applied
    pandas_frame = pd.read_spss(path) if fmt == "sav" else pd.read_stata(path)
    assert list(pandas_frame["status"].astype(str).unique()) == list(labelled["status"].astype(str).unique())
    assert set(labelled["arm_key"]) <= {a["label"] for a in study.definition["arms"]}
    enrolled = pd.to_datetime(frame["enrolled_at"])
    assert enrolled.notna().all()


def test_stata_names_and_labels_fit(app, trial, tmp_path):
    key, _ = trial("factorial-screening")
    path = _export(app, key, "participants", "dta", tmp_path, unblinded=True).path
    frame, meta = pyreadstat.read_dta(str(path))
    assert all(len(n) <= 32 for n in meta.column_names)
    assert all(len((lab or "").encode()) <= 80 for lab in meta.column_labels)
    effects = [n for n in meta.column_names if n.endswith("_eff")]
    assert effects and set(frame[effects[0]].dropna().unique()) <= {-1.0, 1.0}


def _bundle_dir(app, key, formats, dest, part_rows):
    app.config["HWTRIAL_EXPORT_PART_ROWS"] = part_rows
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        got = exports.export_bundle(session, None, key, formats, out=dest, options=exports.ExportOptions(unblinded=True))
        session.commit()
    return got.manifest


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_a_long_table_is_written_in_parts_that_combine(app, trial, tmp_path, fmt):
    """HWTRIAL_EXPORT_PART_ROWS bounds the rows of one .sav/.dta file: the parts carry the same
    variables, labels and value labels, and stacked they are the whole table (as in Parquet)."""
    import hashlib
    import json

    import sqlalchemy as sa

    key, _ = trial()
    with app.app_context():  # the last row's slot is the widest string: only the last part has it
        session = app.extensions["hwtrial"].db.session
        session.execute(sa.text("UPDATE hwtrial_homework_instance SET slot_key = :s WHERE id = "
                                "(SELECT MAX(id) FROM hwtrial_homework_instance)"), {"s": "slot-" + "é" * 30})
        session.commit()
    dest = tmp_path / "bundle"
    manifest = _bundle_dir(app, key, f"parquet,{fmt}", dest, part_rows=97)
    n = manifest["rows"]["homework"]
    assert n > 3 * 97
    names = manifest["parts"]["homework"][fmt]
    assert names == [f"tables/homework.part{i:03d}.{fmt}" for i in range(1, -(-n // 97) + 1)]
    assert not (dest / f"tables/homework.{fmt}").exists()
    for name in names:  # every part is in the manifest with its SHA-256
        assert manifest["files"][name] == hashlib.sha256((dest / name).read_bytes()).hexdigest()
    assert json.loads((dest / "manifest.json").read_text())["parts"] == manifest["parts"]
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    read = [reader(str(dest / name)) for name in names]
    frames, metas = [f for f, _ in read], [m for _, m in read]
    assert [len(f) for f in frames] == [97] * (len(names) - 1) + [n - 97 * (len(names) - 1)]
    for meta in metas[1:]:
        assert meta.column_names == metas[0].column_names
        assert meta.column_names_to_labels == metas[0].column_names_to_labels
        assert meta.variable_value_labels == metas[0].variable_value_labels
        if fmt == "sav":  # SPSS string widths are the table's, in every part
            assert meta.original_variable_types == metas[0].original_variable_types
    assert metas[0].variable_value_labels["state"]  # categories keep their labels
    whole = pd.concat(frames, ignore_index=True)
    parquet = pq.read_table(dest / "tables/homework.parquet").to_pandas()
    assert whole["instance_id"].astype(int).tolist() == parquet["instance_id"].tolist()
    column = next(c for c in REGISTRY["homework"].columns(_facts(app, key)) if c.name == "state")
    labels = {code: value for value, code in value_codes(column).items()}
    assert whole["state"].map(labels).tolist() == parquet["state"].tolist()
    strings = [c.name for c in REGISTRY["homework"].columns(_facts(app, key)) if c.type == "string" and c.name in whole]
    assert "slot" in strings
    if fmt == "sav":
        assert metas[0].original_variable_types["slot"] == "A65"  # "slot-" + 30 two-byte characters
    for c in strings:
        assert whole[c].tolist() == parquet[c].fillna("").tolist(), c
    assert pd.to_datetime(whole["due_at"]).tolist() == parquet["due_at"].dt.tz_localize(None).tolist()
    codebook = html.unescape((dest / "codebook.html").read_text())
    assert ("ADD FILES /FILE='homework.part001.sav'" if fmt == "sav" else 'append using "homework.part002.dta"') in codebook


def _facts(app, key):
    from hwtrial.exports.bundle import facts_of
    from hwtrial.models import Study

    with app.app_context():
        return facts_of(app.extensions["hwtrial"].db.session.query(Study).filter_by(key=key).one())


def test_one_long_table_download_is_a_zip_of_its_parts(app, trial, tmp_path):
    import zipfile

    key, _ = trial()
    app.config["HWTRIAL_EXPORT_PART_ROWS"] = 200
    got = _export(app, key, "homework", "sav", tmp_path)
    assert got.media_type == "application/zip" and got.filename == f"{key}-homework-sav-parts.zip"
    with zipfile.ZipFile(got.path) as archive:
        assert archive.namelist()[0] == f"{key}-homework.part001.sav"
        assert len(archive.namelist()) >= 2
