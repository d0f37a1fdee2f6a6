"""Factorial and cluster designs through the API; replay of the stored log."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from hwtrial.models import Allocation, Cluster, Study
from hwtrial.services import allocation

from .helpers import enrol


@pytest.fixture
def coordinator(make_user, bearer):
    return bearer(make_user("coordinator")[1])


def test_factorial_cell_levels_codes_and_features(client, load_study, coordinator, session):
    load_study("factorial-screening")
    r = enrol(client, coordinator, "factorial-screening", "f-1",
              {"severity": "mild", "prior_therapy": "no"})
    assert r.status_code == 201, r.json
    cell = dict(part.split("=") for part in r.json["arm"].split("|"))
    row = session.scalar(sa.select(Allocation))
    factorial = row.diagnostics["factorial"]
    assert {f: v["level"] for f, v in factorial.items()} == cell
    for factor, value in factorial.items():
        first = factor_levels(session)[factor][0]
        assert value["code"] == (-1 if value["level"] == first else 1)
    features = r.json["features"]
    assert features["self_review"]["enabled"] == (cell["self_review"] == "on")
    assert features["framing"] == cell["framing"]
    assert (features["reminders"]["policy"] != "none") == (cell["reminders"] == "on")
    assert row.method == "minimisation" and row.diagnostics["log"]["factor_levels"] == {
        "severity": "mild", "prior_therapy": "no"}


def factor_levels(session):
    study = session.scalar(sa.select(Study).where(Study.key == "factorial-screening"))
    return {f["key"]: [lv["key"] for lv in f["levels"]] for f in study.definition["factors"]}


def test_factorial_missing_minimisation_factor(client, load_study, coordinator):
    load_study("factorial-screening")
    r = enrol(client, coordinator, "factorial-screening", "f-1", {"severity": "mild"})
    assert r.status_code == 422 and r.json["errors"] == {"strata.prior_therapy": ["missing"]}


def test_cluster_allocated_once_members_inherit(client, load_study, coordinator, session):
    load_study("therapist-cluster")
    strata = {"service": "city_clinic", "experience": "over_5y"}
    arms = {}
    for i in range(12):
        therapist = f"t-{i % 4}"
        r = enrol(client, coordinator, "therapist-cluster", f"c-{i}", strata, cluster=therapist)
        assert r.status_code == 201, r.json
        arms.setdefault(therapist, set()).add(r.json["arm"])
    assert all(len(a) == 1 for a in arms.values())
    assert session.scalar(sa.select(sa.func.count()).select_from(Cluster)) == 4
    methods = Counter(session.scalars(sa.select(Allocation.method)))
    assert methods == {"permuted_blocks": 4, "cluster_inherited": 8}
    missing = enrol(client, coordinator, "therapist-cluster", "c-x", strata)
    assert missing.status_code == 422 and "cluster" in missing.json["errors"]
    moved = enrol(client, coordinator, "therapist-cluster", "c-y",
                  {"service": "county_clinic", "experience": "over_5y"}, cluster="t-0")
    assert moved.status_code == 422 and "strata.service" in moved.json["errors"]


@pytest.mark.parametrize("study,strata,cluster", [
    ("reminder-rct", lambda i: {"site": ["north", "south"][i % 2], "severity": "severe"}, None),
    ("factorial-screening", lambda i: {"severity": "mild", "prior_therapy": ["no", "yes"][i % 2]}, None),
    ("therapist-cluster", lambda i: {"service": "city_clinic", "experience": "under_5y"},
     lambda i: f"t-{i % 5}"),
    ("mrt-reminders", lambda i: {}, None),
])
def test_verify_replays_and_reports_tampering(client, load_study, coordinator, session,
                                              study, strata, cluster):
    load_study(study)
    for i in range(30):
        extra = {"cluster": cluster(i)} if cluster else {}
        r = enrol(client, coordinator, study, f"v-{i}", strata(i), **extra)
        assert r.status_code == 201, r.json
    row = session.scalar(sa.select(Study).where(Study.key == study))
    report = allocation.verify(session, row)
    assert report.ok and report.n == 30
    tampered = session.scalar(sa.select(Allocation).where(Allocation.sequence_no == 3))
    others = [a for a in allocation.design_of(row).arms if a != tampered.arm_key]
    tampered.arm_key = others[0] if others else "not-an-arm"  # single-arm: any other key
    session.commit()
    report = allocation.verify(session, row)
    assert [m[0] for m in report.mismatches] == [3] and not report.ok
