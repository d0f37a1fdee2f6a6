"""Emergency and study-level unblinding, and the audited allocation-list export."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from hwtrial.models import AuditEntry, Study

from .helpers import rct


@pytest.fixture
def staff(make_user, bearer):
    def make(role, **kwargs):
        user_id, token = make_user(role, **kwargs)
        return user_id, bearer(token)

    return make


def actions(session, action):
    return session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


def test_emergency_unblinding(client, load_study, staff, session):
    load_study("reminder-rct")
    _, coord = staff("coordinator")
    _, blind = staff("statistician")
    _, unblinder = staff("statistician", may_unblind=True)
    p = rct(client, coord).json
    url = f"/api/v1/studies/reminder-rct/participants/{p['id']}/unblind"
    assert client.post(url, json={"reason": "SAE"}, headers=blind).status_code == 403
    assert client.post(url, json={"reason": " "}, headers=unblinder).status_code == 422
    r = client.post(url, json={"reason": "serious adverse event"}, headers=unblinder)
    assert r.status_code == 200 and r.json["arm"] == p["arm"]
    [entry] = actions(session, "participant.unblind")
    assert '"serious adverse event"' in entry.payload


def test_study_unblinding_needs_a_second_person(client, load_study, staff, session):
    load_study("reminder-rct")
    _, coord = staff("coordinator")
    _, other = staff("coordinator")
    _, blind = staff("statistician")
    p = rct(client, coord).json
    item = f"/api/v1/studies/reminder-rct/participants/{p['id']}"
    assert client.get(item, headers=blind).json["arm"] == p["arm_code"]
    assert client.post("/api/v1/studies/reminder-rct/unblinding", json={"reason": "db lock"},
                       headers=blind).status_code == 403
    req = client.post("/api/v1/studies/reminder-rct/unblinding", json={"reason": "database locked"},
                      headers=coord)
    assert req.status_code == 201
    approve = f"/api/v1/studies/reminder-rct/unblinding/{req.json['id']}/approve"
    assert client.post(approve, headers=coord).status_code == 409  # same person
    assert client.get(item, headers=blind).json["arm"] == p["arm_code"]
    assert client.post(approve, headers=other).status_code == 200
    assert session.scalar(sa.select(Study.unblinded_at)) is not None
    assert client.get(item, headers=blind).json["arm"] == p["arm"]  # everyone sees arms now
    assert len(actions(session, "study.unblind")) == 1
    assert client.post(approve, headers=other).status_code == 409


def test_allocation_export_json_csv_and_refusal(client, load_study, staff, session):
    load_study("reminder-rct")
    _, coord = staff("coordinator")
    _, blind = staff("statistician")
    created = [rct(client, coord, f"e-{i}", site=["north", "south"][i % 2]).json for i in range(5)]
    url = "/api/v1/studies/reminder-rct/allocations"
    assert client.get(url, headers=blind).status_code == 403
    rows = client.get(url, headers=coord).json
    assert [r["arm"] for r in rows] == [c["arm"] for c in created]
    assert [r["sequence_no"] for r in rows] == [1, 2, 3, 4, 5]
    text = client.get(url + "?format=csv", headers=coord)
    assert text.mimetype == "text/csv"
    parsed = list(csv.DictReader(io.StringIO(text.get_data(as_text=True))))
    assert [r["external_id"] for r in parsed] == [f"e-{i}" for i in range(5)]
    assert len(actions(session, "allocation.export")) == 2
