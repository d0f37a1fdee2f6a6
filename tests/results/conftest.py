"""Factory for trial data: participants, allocations, homework instances, events,
questionnaire responses and decision points inserted as rows, deterministic from a seed.

The homework service that will fill these tables is being written in parallel, so the
results tests insert rows directly. ``make_trial`` returns the generated rows as plain
dicts so that tests can compute expected numbers from them without the service's SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from hwtrial.models import (
    Allocation,
    Cluster,
    DecisionPoint,
    Event,
    HomeworkInstance,
    Participant,
    QuestionnaireResponse,
    Study,
)
from hwtrial.models.homework import METRIC_COLUMNS

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@dataclass
class TrialData:
    """Rows inserted by :func:`make_trial` (plain dicts, as inserted)."""

    key: str
    participants: list[dict] = field(default_factory=list)
    allocations: list[dict] = field(default_factory=list)
    instances: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)
    decision_points: list[dict] = field(default_factory=list)


def _arm_sequence(rng, arms, n, weights):
    w = np.asarray(weights if weights is not None else [1.0] * len(arms), dtype=float)
    return [arms[i] for i in rng.choice(len(arms), size=n, p=w / w.sum())]


def _instances(rng, pid, study_id, arm_index, n_slots, completion):
    rows = []
    for j in range(n_slots):
        due = T0 + timedelta(days=2 * j + 2)
        row = {"study_id": study_id, "participant_id": pid, "template_key": "t",
               "slot_key": f"slot{j}", "open_at": due - timedelta(days=2), "scheduled_at":
               due - timedelta(days=2), "due_at": due, "expire_at": due + timedelta(days=1),
               "state": "expired", "late": False, "submitted_at": None, "metrics": None}
        if j == n_slots - 1:  # still open: never counted in adherence
            row["state"] = "delivered"
        elif rng.random() < completion[arm_index]:
            late = bool(rng.random() < 0.2)
            row.update(state="submitted", late=late,
                       submitted_at=due + (timedelta(hours=3) if late else -timedelta(hours=5)),
                       metrics={"active_seconds": float(rng.gamma(2.0, 150.0) * (1 + arm_index)),
                                "edits": int(rng.poisson(4 + 2 * arm_index)),
                                "words": int(rng.poisson(60)),
                                "self_review_depth": int(rng.integers(0, 4))})
        elif rng.random() < 0.5:
            row["metrics"] = {"active_seconds": float(rng.gamma(1.0, 60.0)),
                              "edits": int(rng.poisson(1)), "words": 0}
        rows.append(row)
    return rows


def _scores(rng, pid, study_id, definition, arm_index, effect, missing):
    rows, base = [], float(rng.normal(14, 4))
    for tp in definition["questionnaires"]["timepoints"]:
        for k, inst in enumerate(tp["instruments"]):
            if tp["day"] > 0 and rng.random() < missing[arm_index]:
                continue
            total = base + k - tp["day"] / 28 - effect * arm_index * (tp["day"] > 0)
            total = float(np.clip(round(total + rng.normal(0, 3)), 0, 27))
            rows.append({"study_id": study_id, "participant_id": pid, "instrument_key": inst,
                         "timepoint_key": tp["key"], "answers": {}, "total": total})
    return rows


def _decision_points(rng, pid, study_id, n_points=12):
    rows = []
    for j in range(n_points):
        available = bool(rng.random() < 0.8)
        rows.append({"study_id": study_id, "participant_id": pid, "point_index": j,
                     "decided_at": T0 + timedelta(days=2 * j + 2) - timedelta(hours=6 + j % 3),
                     "available": available, "probability": 0.6,
                     "treated": bool(rng.random() < 0.6) if available else None})
    return rows


def _events(rng, instances, start_id):
    rows = []
    for inst in instances:
        for e in range(int(rng.negative_binomial(1, 0.3))):
            cid = f"e{start_id + len(rows)}"
            rows.append({"study_id": inst["study_id"], "participant_id": inst["participant_id"],
                         "instance_id": inst["id"], "client_event_id": cid,
                         "body_sha256": hashlib.sha256(cid.encode()).hexdigest(),
                         "type": "field_changed" if e else "opened",
                         "client_time": inst["open_at"] + timedelta(minutes=e)})
    return rows


def _participants(rng, study_id, definition, arms, n, weights, clusters, id_base):
    strata = {s["key"]: s["levels"] for s in definition["stratification"]}
    people, allocs = [], []
    for i, arm in enumerate(_arm_sequence(rng, arms, n, weights)):
        pid = id_base + i + 1
        cluster = clusters[i % len(clusters)] if clusters else None
        people.append({"id": pid, "study_id": study_id, "external_id": f"p{pid}",
                       "strata": {k: str(rng.choice(v)) for k, v in strata.items()},
                       "cluster_key": cluster["cluster_key"] if cluster else None,
                       "therapist_id": None,
                       "status": "withdrawn" if rng.random() < 0.1 else "active",
                       "exclude_data": bool(rng.random() < 0.05)})
        allocs.append({"study_id": study_id, "participant_id": pid, "sequence_no": i + 1,
                       "arm_key": cluster["arm_key"] if cluster else arm, "method": "test",
                       "probability": 1 / len(arms), "stratum_key": "*", "study_version": 1,
                       "diagnostics": {}})
    return people, allocs


def _clusters(rng, study_id, definition, arms, n_clusters):
    covs = {c["key"]: c["levels"] for c in (definition.get("clusters") or {}).get("covariates", [])}
    return [{"study_id": study_id, "cluster_key": f"th{c}", "arm_key": arms[c % len(arms)],
             "probability": 0.5, "covariates": {k: str(rng.choice(v)) for k, v in covs.items()}}
            for c in range(n_clusters)]


def generate(study_id, definition, *, n, seed, weights=None, completion=(0.45, 0.7),
             effect=2.0, missing=(0.15, 0.15), n_slots=8, n_clusters=8, id_base=(0, 0)):
    """Every row of a synthetic trial (ids assigned here so tests can join them)."""
    rng = np.random.default_rng(seed)
    arms = [a["key"] for a in definition["arms"]]
    k = len(arms)
    completion = [completion[min(i, len(completion) - 1)] for i in range(k)]
    missing = [missing[min(i, len(missing) - 1)] for i in range(k)]
    data = TrialData(definition["key"])
    if definition["allocation"]["method"] == "cluster":
        data.clusters = _clusters(rng, study_id, definition, arms, n_clusters)
    data.participants, data.allocations = _participants(
        rng, study_id, definition, arms, n, weights, data.clusters, id_base[0])
    micro = definition["arms"][0]["features"].get("reminders", {}).get("policy") == "micro_randomised"
    for person, alloc in zip(data.participants, data.allocations, strict=True):
        idx = arms.index(alloc["arm_key"]) if k > 1 else 0
        data.instances += _instances(rng, person["id"], study_id, min(idx, 1), n_slots, completion)
        data.responses += _scores(rng, person["id"], study_id, definition, idx, effect, missing)
        if micro:
            data.decision_points += _decision_points(rng, person["id"], study_id)
    for i, inst in enumerate(data.instances):
        inst["id"] = id_base[1] + i + 1
    data.events = _events(rng, data.instances, 0)
    return data


def _stored_instances(rows: list[dict]) -> list[dict]:
    """Instance rows as ``HomeworkInstance.set_metrics`` stores them: JSON and column copies."""
    return [{**r, **{k: (r["metrics"] or {}).get(k) for k in METRIC_COLUMNS}} for r in rows]


def insert(session, data: TrialData) -> None:
    for model, rows in ((Cluster, data.clusters), (Participant, data.participants),
                        (Allocation, data.allocations),
                        (HomeworkInstance, _stored_instances(data.instances)),
                        (Event, data.events), (QuestionnaireResponse, data.responses),
                        (DecisionPoint, data.decision_points)):
        if rows:
            session.execute(sa.insert(model), rows)
    session.commit()


@pytest.fixture
def make_trial(app, load_study):
    """Factory: ``make_trial(study_name, n=120, seed=1, **options) -> TrialData``."""

    def make(name: str, *, n: int = 120, seed: int = 1, **options) -> TrialData:
        key = load_study(name)
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            study = session.scalar(sa.select(Study).where(Study.key == key))
            base = tuple(session.scalar(sa.select(sa.func.coalesce(sa.func.max(m.id), 0)))
                         for m in (Participant, HomeworkInstance))
            data = generate(study.id, study.definition, n=n, seed=seed, id_base=base, **options)
            insert(session, data)
        return data

    return make
