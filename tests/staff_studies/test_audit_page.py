"""The audit log viewer: filters (study, actor, action, time), pages, chain verification."""

from __future__ import annotations

import re

from hwtrial.models import AuditHead, utcnow
from hwtrial.services import audit


def _entries(app, n, **fields):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        for i in range(n):
            audit.record(session, actor=fields.get("actor", "user:99"), action=fields.get("action", "test.note"),
                         target=f"note:{i}", study_key=fields.get("study_key"))
        session.commit()


def rows(html):
    return re.findall(r'<tr><th scope="row">(\d+)</th><td>[^<]+</td><td>([^<]*)</td><td>([^<]*)</td>'
                      r'<td>[^<]*</td><td>([^<]*)</td>', html)


def test_filters_and_pages(app, signed_in, load_study):
    key = load_study("reminder-rct")  # study.create, study.active
    _entries(app, 60, study_key=key)
    _entries(app, 3, actor="user:7", action="other.thing")
    coordinator = signed_in("coordinator")[0]
    html = coordinator.get(f"/staff/audit?study={key}").get_data(as_text=True)
    assert "62 entries; page 1 of 2." in html and len(rows(html)) == 50
    seqs = [int(r[0]) for r in rows(html)]
    assert seqs == sorted(seqs, reverse=True) and 'rel="next"' in html and 'rel="prev"' not in html
    assert f'href="/staff/audit?page=2&amp;study={key}"' in html  # the filters survive paging
    older = coordinator.get(f"/staff/audit?study={key}&page=2").get_data(as_text=True)
    assert len(rows(older)) == 12 and int(rows(older)[0][0]) < seqs[-1] and 'rel="prev"' in older
    assert len(rows(coordinator.get(f"/staff/audit?study={key}&page=99").get_data(as_text=True))) == 12
    by_action = coordinator.get(f"/staff/audit?study={key}&action=study.active").get_data(as_text=True)
    assert [(r[2], r[3]) for r in rows(by_action)] == [("study.active", key)]
    by_actor = coordinator.get("/staff/audit?actor=user:7").get_data(as_text=True)
    assert "3 entries" in by_actor and {r[1] for r in rows(by_actor)} == {"user:7"}
    assert "2 entries" in coordinator.get("/staff/audit?action=study.").get_data(as_text=True)
    today = utcnow().date().isoformat()
    assert "62 entries" in coordinator.get(f"/staff/audit?study={key}&since={today}&until={today}").get_data(
        as_text=True)
    assert "0 entries" in coordinator.get("/staff/audit?until=2000-01-01").get_data(as_text=True)


def test_bad_filter_values_are_named_next_to_their_field(signed_in):
    coordinator = signed_in("coordinator")[0]
    answer = coordinator.get("/staff/audit?since=yesterday&page=abc")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'id="e-since">use a date like 2026-01-31' in html
    assert coordinator.get("/staff/audit?actor=" + "x" * 500).status_code == 400


def test_chain_verification_status(app, signed_in, load_study, session):
    load_study("reminder-rct")
    coordinator = signed_in("coordinator")[0]
    html = coordinator.get("/staff/audit").get_data(as_text=True)
    assert "Verify the chain now" in html and "Chain intact" not in html
    verified = coordinator.get("/staff/audit?verify=1").get_data(as_text=True)
    assert re.search(r"Chain intact: \d+ entries verified", verified)
    head = session.get(AuditHead, audit.HEAD_ID)
    head.mac = "0" * 64  # a forged head
    session.commit()
    broken = coordinator.get("/staff/audit?verify=1").get_data(as_text=True)
    assert "Chain broken at entry" in broken and "head MAC does not verify" in broken


def test_only_coordination_roles(signed_in):
    for role in ("therapist", "statistician"):
        assert signed_in(role)[0].get("/staff/audit").status_code == 403
    assert signed_in("admin")[0].get("/staff/audit").status_code == 200
