"""Blinding leak scanner: every route a blinded statistician or therapist may call (from the
policy table), on an enrolled study with data, answers without arm keys, arm labels, feature
values that differ between arms, external ids or sign-in links."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import url_for

from hwtrial.auth.policy import allowed_roles
from hwtrial.models import HomeworkInstance, Participant, Study, UnblindingRequest, User, utcnow
from hwtrial.services import sessions
from hwtrial.services.allocation import design_of
from hwtrial.web.csrf import _sign
from tests.blinding_leaks import LINK, leaks_in_json, leaks_in_text, revealing_strings
from tests.results.conftest import generate, insert

from .helpers import enrol

#: Multi-arm examples (one arm has nothing to blind).
STUDIES = ("reminder-rct", "therapist-cluster", "factorial-screening")
#: Not part of what a signed-in caller reads about a study: signing in and out, static files
#: and the API description (the same for everyone, whatever the studies).
SKIP = {"hwtrial_auth.login", "hwtrial_auth.logout", "static", "hwtrial_web.static",
        "hwtrial-api-docs.openapi_json"}


def _db(app):
    return app.extensions["hwtrial"].db.session


def _advance_sequences(session) -> None:
    """Rows inserted with explicit ids leave PostgreSQL's id sequences behind: move them on."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (Participant, HomeworkInstance):
        table = model.__tablename__
        session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT MAX(id) FROM {table}))"))
    session.commit()


def _world(app, client, load_study, make_user, bearer, name):
    """The study with 40 generated participants and two enrolled through the API (with links).

    Each step in its own app context: SQLite takes its write lock at BEGIN, so no session may
    stay open while the client enrols.
    """
    therapist_id, _ = make_user("therapist")
    statistician_id, _ = make_user("statistician")
    coordinator = bearer(make_user("coordinator")[1])
    key = load_study(name)
    with app.app_context():
        design = design_of(_db(app).scalar(sa.select(Study).where(Study.key == key)))
        strata = {f: levels[0] for f, levels in design.levels.items() if f != design.cluster_unit}
        cluster = {"cluster": "th-new"} if design.cluster_unit else {}
    enrolled = []
    for i in range(2):
        answer = enrol(client, coordinator, key, f"leak-ext-{i}", strata, therapist_id=therapist_id, **cluster)
        assert answer.status_code == 201, answer.json
        assert LINK in answer.json["link"]  # the enrolling host gets the link, nobody else
        enrolled.append(answer.json["id"])
        features = client.get(f"/api/v1/studies/{key}/participants/{answer.json['id']}/features",
                              headers=coordinator)
        assert features.status_code == 200
    with app.app_context():
        session = _db(app)
        study = session.scalar(sa.select(Study).where(Study.key == key))
        base = tuple(session.scalar(sa.select(sa.func.coalesce(sa.func.max(m.id), 0)))
                     for m in (Participant, HomeworkInstance))
        data = generate(study.id, study.definition, n=40, seed=3, id_base=base)
        for person in data.participants[:10]:
            person["therapist_id"] = therapist_id
        for row in data.allocations:
            row["sequence_no"] += 100  # after the two enrolled through the API
        insert(session, data)
        _advance_sequences(session)
        rows = session.scalars(sa.select(HomeworkInstance).where(HomeworkInstance.participant_id == enrolled[0])
                               .order_by(HomeworkInstance.scheduled_at)).all()
        now = utcnow()
        for row, reviewer in zip(rows[:2], ("client", None), strict=True):
            row.state, row.submitted_at, row.submission = "submitted", now, {}
            row.set_metrics({"active_seconds": 60.0, "edits": 3, "words": 10, "self_review_depth": 2,
                             "self_review_words": 4, "usefulness_rated": True, "effort": None})
            if reviewer:
                row.self_review, row.reviewer_role, row.reviewed_at = {"usefulness": 7, "reflection": "ok"}, "client", now
        request = UnblindingRequest(study_id=study.id, requested_by=statistician_id, reason="lock")
        session.add(request)
        cookies = {role: sessions.open_session(session, timedelta(hours=1), user=session.get(User, user_id))
                   for role, user_id in (("therapist", therapist_id), ("statistician", statistician_id))}
        session.commit()
        template = study.definition["homework"]["templates"][0]["key"]
        values = {"study_key": key, "participant_id": enrolled[0], "instance_id": rows[1].id,
                  "request_id": request.id, "user_id": statistician_id, "token_id": 1, "alert_id": 1,
                  "table": "participants", "fmt": "csv"}
        definition = study.definition
    bodies = {"hwtrial_homework.ClientHomework": {"template": template,
                                                  "due_at": (now + timedelta(days=2)).isoformat()},
              "hwtrial_homework.HomeworkReview": {"reviewer_role": "therapist", "answers": {"usefulness": 5}}}
    external = {p["external_id"] for p in data.participants} | {"leak-ext-0", "leak-ext-1"}
    return definition, cookies, values, bodies, external


def _text_of(name: str, data: bytes) -> str:
    """What a file says. Parquet is compressed: its values and metadata are read with pyarrow
    (its raw bytes would hide a real leak, and random bytes match short ids such as "p8").
    .sav and .dta keep their strings as UTF-8 bytes."""
    if name.endswith(".parquet") or data[:4] == b"PAR1":
        import json

        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        fields = [{k.decode(): v.decode() for k, v in (f.metadata or {}).items()} for f in table.schema]
        return json.dumps([table.schema.names, meta, fields, table.to_pylist()], default=str, ensure_ascii=False)
    return data.decode("utf-8", "replace")


def _scan(client, answer, revealing, arm_names, external) -> list[str]:
    if answer.is_json:
        return leaks_in_json(answer.get_json(), revealing, external, revealing_keys=arm_names)
    data = answer.get_data()
    if answer.mimetype == "application/zip":  # an export bundle: every file in it
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            return [f"{name}: {leak}" for name in bundle.namelist()
                    for leak in leaks_in_text(_text_of(name, bundle.read(name)), revealing, external)]
    return leaks_in_text(_text_of("", data), revealing, external)


@pytest.mark.parametrize("name", STUDIES)
def test_blinded_callers_get_nothing_that_reveals_the_arm(app, client, load_study, make_user, bearer, name):
    definition, cookies, values, bodies, external = _world(app, client, load_study, make_user, bearer, name)
    revealing = revealing_strings(definition)
    arm_names = {a["key"] for a in definition["arms"]} | {a["label"] for a in definition["arms"]}
    calls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for role in ("statistician", "therapist"):
                    if rule.endpoint not in SKIP and role in allowed_roles(rule.endpoint, method):
                        url = url_for(rule.endpoint, **{a: values.get(a, 1) for a in rule.arguments})
                        calls.append((method, url, role, rule.endpoint))
    leaks, answered = [], {}
    for method, url, role, endpoint in calls:
        client.set_cookie("hwtrial_session", cookies[role])
        body = bodies.get(endpoint, {"reason": "scan"}) if method == "POST" else None
        with app.app_context():  # the page's CSRF token, as participant.js sends it with the cookie
            headers = {"X-CSRF-Token": _sign(cookies[role])}
        answer = client.open(url, method=method, json=body, headers=headers)
        assert answer.status_code < 500, f"{method} {url} as {role}: {answer.status_code}"
        answered[(endpoint, method, role)] = answer.status_code
        leaks += [f"{method} {url} as {role}: {leak}"
                  for leak in _scan(client, answer, revealing, arm_names, external)]
        answer.close()
    assert leaks == [], "\n".join(leaks)
    # The scan read real data: the views that carry arm information answered.
    for endpoint, method, role in (("hwtrial_studies.StudyItem", "GET", "statistician"),
                                   ("hwtrial_studies.StudyList", "GET", "therapist"),
                                   ("hwtrial_participants.ParticipantList", "GET", "statistician"),
                                   ("hwtrial_participants.ParticipantItem", "GET", "therapist"),
                                   ("hwtrial_results.StudyResults", "GET", "statistician"),
                                   ("hwtrial_homework.HomeworkList", "GET", "therapist"),
                                   ("hwtrial_homework.ClientHomework", "GET", "therapist"),
                                   ("hwtrial_homework.ClientHomework", "POST", "therapist"),
                                   ("hwtrial_homework.HomeworkReview", "POST", "therapist"),
                                   ("hwtrial_staff.study_list", "GET", "statistician"),
                                   ("hwtrial_staff.study_page", "GET", "statistician"),
                                   ("hwtrial_staff.study_page", "GET", "therapist"),
                                   ("hwtrial_staff.study_results", "GET", "statistician"),
                                   ("hwtrial_report.StudyReport", "GET", "statistician"),
                                   ("hwtrial_exports.TableExport", "GET", "statistician"),
                                   ("hwtrial_exports.BundleExport", "GET", "statistician")):
        assert answered[(endpoint, method, role)] in (200, 201), (endpoint, method, role)
