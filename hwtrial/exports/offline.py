"""Recompute the results input from an export bundle: no database, no server.

The bundle's tables (Parquet if present, else CSV) are aggregated per participant the way
:mod:`hwtrial.services.results_data` aggregates the database rows, and the result is the
same :class:`~hwtrial.services.results_data.ResultsInput` the results service computes
from. Participants left out for withdrawn data-use consent are added back as rows without
data from the manifest's counts (the flow and allocation checks count them; no analysis
uses them).

A blinded bundle lacks what tells arms apart (self-review depth, arm-specific event types,
decision points, factor names); the blinded results API leaves out the same (engagement's
self-review depth and the MRT section are not applicable, events count only the types every
arm produces), and a blinded factorial bundle's arms carry their blinded cell (factor
letters and level numbers), so both bundles reproduce their API body byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..models.homework import CLOSED_STATES
from ..services.results_context import covariate_keys, proximal_window_hours, score_pairs
from ..services.results_data import SUMMED_METRICS, ResultsInput, StudyTables


class BundleError(ValueError):
    """The bundle cannot be read (missing file, wrong checksum, no readable table format)."""


class Bundle:
    """An export bundle, as a zip file or an unpacked directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._zip = zipfile.ZipFile(self.path) if self.path.is_file() else None
        self.manifest = json.loads(self.read("manifest.json"))
        fmts = self.manifest.get("formats", [])
        self.format = "parquet" if "parquet" in fmts else "csv" if "csv" in fmts else None
        if self.format is None:
            raise BundleError("the bundle has neither Parquet nor CSV tables (export with --format csv or parquet)")

    def read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise BundleError(f"the bundle has no {name}") from None

    def checked(self, name: str) -> bytes:
        data = self.read(name)
        want = self.manifest["files"].get(name)
        if want is None or hashlib.sha256(data).hexdigest() != want:
            raise BundleError(f"{name} does not match the SHA-256 in the manifest")
        return data

    def has(self, table: str) -> bool:
        return f"tables/{table}.{self.format}" in self.manifest["files"]

    def table(self, name: str) -> pd.DataFrame:
        data = io.BytesIO(self.checked(f"tables/{name}.{self.format}"))
        if self.format == "parquet":
            return pd.read_parquet(data)
        return pd.read_csv(data, keep_default_na=False, na_values=[""], dtype=str)

    @property
    def blinded(self) -> bool:
        return bool(self.manifest["filters"]["blinded"])

    def definition(self) -> dict:
        version = self.manifest["study_version"]
        return json.loads(self.checked(f"study/version-{version}.json"))["definition"]


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column]) if column in frame else pd.Series(np.nan, index=frame.index)


def _people(b: Bundle, definition: dict, arm_col: str) -> pd.DataFrame:
    raw = b.table("participants")
    raw = raw.loc[raw[arm_col].notna()]
    keys = covariate_keys(definition)
    people = pd.DataFrame({
        "participant_id": pd.to_numeric(raw["participant_id"]).astype(np.int64),
        "arm_key": raw[arm_col].astype(object), "status": raw["status"].astype(object),
        "exclude_data": False, "cluster": raw["cluster"].astype(object).where(raw["cluster"].notna(), None),
        "therapist_id": _num(raw, "therapist_id"),
        **{k: raw[k[:32]].astype(object).where(raw[k[:32]].notna(), None) for k in keys}})
    placeholders = [{"participant_id": 0, "arm_key": arm, "status": status, "exclude_data": True}
                    for arm, statuses in b.manifest["excluded_withdrawn"]["by_arm"].items() if arm != "unallocated"
                    for status, n in sorted(statuses.items()) for _ in range(n)]
    for i, row in enumerate(placeholders):
        row["participant_id"] = -(i + 1)
    if placeholders:
        people = pd.concat([people, pd.DataFrame(placeholders)], ignore_index=True)
    people["exclude_data"] = people["exclude_data"].astype(bool)
    return people.reset_index(drop=True)


def _work(b: Bundle) -> pd.DataFrame:
    cols = ["participant_id", "n_assigned", "n_completed", "n_on_time", *SUMMED_METRICS, "self_review_depth"]
    hw = b.table("homework")
    hw = hw.loc[hw["state"].isin(CLOSED_STATES)]
    if hw.empty:
        return pd.DataFrame(columns=cols)
    submitted = hw["state"] == "submitted"
    late = hw["late"].astype(str).isin(["1", "True", "true"])
    frame = pd.DataFrame({"participant_id": pd.to_numeric(hw["participant_id"]).astype(np.int64),
                          "one": 1, "done": submitted.astype(int), "on_time": (submitted & ~late).astype(int),
                          **{k: _num(hw, k).astype(float) for k in SUMMED_METRICS},
                          "depth": _num(hw, "self_review_depth").astype(float).where(submitted)})
    g = frame.groupby("participant_id", sort=True)
    out = pd.DataFrame({"n_assigned": g["one"].sum(), "n_completed": g["done"].sum(),
                        "n_on_time": g["on_time"].sum(),
                        **{k: g[k].sum(min_count=1) for k in SUMMED_METRICS},
                        "self_review_depth": g["depth"].mean()}).reset_index()
    return out.astype({c: float for c in cols[4:]})


def _events(b: Bundle) -> pd.DataFrame:
    ev = b.table("events")
    counts = pd.to_numeric(ev["participant_id"]).astype(np.int64).value_counts().sort_index()
    return pd.DataFrame({"participant_id": counts.index, "n_events": counts.to_numpy()})


def _scores(b: Bundle, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    if not pairs:
        return pd.DataFrame(columns=["participant_id"])
    q = b.table("questionnaires")
    q = q.assign(participant_id=pd.to_numeric(q["participant_id"]).astype(np.int64), total=_num(q, "total"))
    out = pd.DataFrame({"participant_id": np.sort(q["participant_id"].unique())})
    for inst, tp in pairs:
        hit = q.loc[(q["instrument"] == inst) & (q["timepoint"] == tp)].groupby("participant_id")["total"].max()
        out[f"{inst}@{tp}"] = out["participant_id"].map(hit).astype(float)
    return out


def _clusters(b: Bundle, arm_col: str) -> dict:
    if not b.has("clusters"):
        return {}
    c = b.table("clusters")
    return {str(arm): int(n) for arm, n in c[arm_col].value_counts().sort_index().items()}


def _missing(values: pd.Series) -> pd.Series:
    """Missing in any format of a bundle (NaN/None, or an empty CSV field)."""
    return values.isna() | values.astype(str).isin(["", "NaT", "nan", "None"])


def _decision_points(b: Bundle, window_hours: float) -> pd.DataFrame | None:
    if not b.has("decision_points"):
        return None
    d = b.table("decision_points")
    hw = b.table("homework")
    subs = pd.DataFrame({"participant_id": pd.to_numeric(hw["participant_id"]).astype(np.int64),
                         "submitted_at": pd.to_datetime(hw["submitted_at"], utc=True)}).dropna()
    dps = pd.DataFrame({"participant_id": pd.to_numeric(d["participant_id"]).astype(np.int64),
                        "available": d["available"].astype(str).isin(["1", "True", "true"]).astype(int),
                        "probability": _num(d, "probability").astype(float),
                        "treated": pd.to_numeric(d["treated"].map({True: 1, False: 0, "1": 1, "0": 0}))
                        .fillna(0).astype(int),
                        "study_day": _num(d, "study_day"),
                        "decided_at": pd.to_datetime(d["decided_at"], utc=True)})
    for name in ("sent", "delivered", "clicked"):  # as the results read them: 1 where the time is known
        if f"{name}_at" in d:
            dps[name] = (~_missing(d[f"{name}_at"])).astype(int)
    order = dps.index
    merged = pd.merge_asof(dps.reset_index().sort_values("decided_at"),
                           subs.sort_values("submitted_at"), left_on="decided_at", right_on="submitted_at",
                           by="participant_id", direction="forward", allow_exact_matches=False)
    merged = merged.set_index("index").loc[order]
    window = pd.Timedelta(hours=float(window_hours))
    dps["outcome"] = ((merged["submitted_at"] - merged["decided_at"]) <= window).fillna(False).astype(int)
    return dps.drop(columns=["decided_at"])


def blinded_definition_for_results(definition: dict) -> dict:
    """A blinded bundle's definition in the shape the results read: arms keyed by code."""
    out = dict(definition)
    single = len(definition["arms"]) == 1  # its features are in the bundle (nothing to conceal)
    out["arms"] = [{"key": a["code"], "code": a["code"], "ratio": a["ratio"],
                    "features": (a.get("features") or {}) if single else {},
                    **({"cell": a["cell"]} if "cell" in a else {})} for a in definition["arms"]]
    return out


def load_input(path: str | Path) -> tuple[ResultsInput, bool]:
    """The results input of a bundle, and whether it is blinded."""
    b = Bundle(path)
    definition = b.definition()
    arm_col = "arm_code" if b.blinded else "arm_key"
    if b.blinded:
        definition = blinded_definition_for_results(definition)
    people = _people(b, definition, arm_col)
    people = people.merge(_work(b), on="participant_id", how="left")
    people = people.merge(_events(b), on="participant_id", how="left")
    for col in ("n_assigned", "n_completed", "n_on_time", "n_events"):
        people[col] = people[col].fillna(0).astype(np.int64)
    micro = any(a.get("features", {}).get("reminders", {}).get("policy") == "micro_randomised"
                for a in definition["arms"])
    dps = _decision_points(b, proximal_window_hours(definition)) if micro else None
    tables = StudyTables(people, _scores(b, score_pairs(definition)), _clusters(b, arm_col), dps)
    m = b.manifest
    return ResultsInput(m["study"], m["title"], m["study_version"], definition, tables), b.blinded
