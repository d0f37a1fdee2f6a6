"""Round trips: .sav and .dta read back with pyreadstat and pandas, Parquet with pyarrow, CSV."""

from __future__ import annotations

import csv
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
