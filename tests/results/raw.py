"""Expected inputs rebuilt from the factory's raw rows in plain pandas (no service SQL)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def people(data, *, labels=None) -> pd.DataFrame:
    """One row per participant with arm, flags and strata, as generated."""
    alloc = {a["participant_id"]: a["arm_key"] for a in data.allocations}
    clusters = {c["cluster_key"]: c["covariates"] for c in data.clusters}
    rows = []
    for p in data.participants:
        arm = alloc[p["id"]]
        rows.append({"participant_id": p["id"], "arm": labels[arm] if labels else arm,
                     "status": p["status"], "exclude_data": p["exclude_data"],
                     "cluster": p["cluster_key"], **p["strata"],
                     **clusters.get(p["cluster_key"], {})})
    return pd.DataFrame(rows)


def instances(data, analysed: pd.DataFrame) -> pd.DataFrame:
    """Closed instances of analysed participants: completed / on_time 0/1 per row."""
    arm = dict(zip(analysed["participant_id"], analysed["arm"], strict=True))
    rows = [{"participant_id": i["participant_id"], "arm": arm[i["participant_id"]],
             "completed": int(i["state"] == "submitted"),
             "on_time": int(i["state"] == "submitted" and not i["late"]),
             "edits": (i["metrics"] or {}).get("edits"), "metrics": i["metrics"]}
            for i in data.instances
            if i["state"] in ("submitted", "expired") and i["participant_id"] in arm]
    return pd.DataFrame(rows)


def analysed(data, *, labels=None) -> pd.DataFrame:
    frame = people(data, labels=labels)
    return frame.loc[~frame["exclude_data"]].reset_index(drop=True)


def scores(data, frame: pd.DataFrame, instrument: str, timepoint: str) -> np.ndarray:
    got = {r["participant_id"]: r["total"] for r in data.responses
           if r["instrument_key"] == instrument and r["timepoint_key"] == timepoint}
    return frame["participant_id"].map(got).astype(float).to_numpy()


def per_protocol(data, frame: pd.DataFrame, min_adherence: float) -> pd.Series:
    inst = instances(data, frame)
    rate = inst.groupby("participant_id")["completed"].mean()
    return frame["participant_id"].map(rate).fillna(-1) >= min_adherence
