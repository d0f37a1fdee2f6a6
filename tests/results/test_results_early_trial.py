"""Early-trial states: every section of every example study answers, never a 500.

Each state is a normal moment of a real trial (nobody enrolled yet, enrolled but nothing
closed, only one arm with closed homework, one participant, everyone withdrawn or
excluded). The results document must then be 200 with every section, part and comparison
either holding a value or saying ``not_estimable`` / ``not_applicable`` with a reason,
and its JSON must be strict (no NaN or Infinity). The API and the function behind
``hwtrial analyze`` are both walked.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from hwtrial.models import Study
from hwtrial.services.results import SECTIONS, build_results
from hwtrial.studydef import load_study_file

from .conftest import generate, insert

STUDIES = Path(__file__).resolve().parents[2] / "studies"
NAMES = ("reminder-rct", "factorial-screening", "therapist-cluster", "mrt-reminders")
STATUSES = {"ok", "not_estimable", "not_applicable"}


def _definition(name: str) -> dict:
    return load_study_file(STUDIES / f"{name}.yaml").data


def _arms(name: str) -> list[str]:
    return [a["key"] for a in _definition(name)["arms"]]


def _populations(name: str) -> list[str | None]:
    """Default plus every population the plan can report (per_protocol needs its rule)."""
    analysis = _definition(name).get("analysis") or {}
    has_pp = (analysis.get("per_protocol") or {}).get("min_adherence") is not None
    return [None, "itt", *(["per_protocol"] if has_pp else [])]


def _only_arm(arm_index: int):
    """Keep the data rows (homework, events, scores, decision points) of one arm only."""

    def edit(data):
        arm = {a["participant_id"]: a["arm_key"] for a in data.allocations}
        keep = _arms(data.key)[arm_index]
        for rows in ("instances", "events", "responses", "decision_points"):
            setattr(data, rows, [r for r in getattr(data, rows)
                                 if arm[r["participant_id"]] == keep])
        return data

    return edit


def _no_data(data):
    data.instances, data.events, data.responses, data.decision_points = [], [], [], []
    return data


def _every_participant(**values):
    def edit(data):
        for p in data.participants:
            p.update(values)
        return data

    return edit


#: state → (participants generated, edit of the generated rows); None: no participants.
STATES = {
    "no_participants": None,
    "participants_no_data": (30, _no_data),
    "non_reference_arm_only": (30, _only_arm(-1)),
    "reference_arm_only": (30, _only_arm(0)),
    "one_participant": (1, lambda d: d),
    "all_withdrawn": (30, _every_participant(status="withdrawn")),
    "all_excluded": (30, _every_participant(exclude_data=True)),
}
CASES = [(name, state) for name in NAMES for state in STATES
         if len(_arms(name)) > 1 or not state.endswith("_only")]


def _strict(text: str) -> dict:
    """Parse JSON refusing NaN / Infinity (which json.dumps writes and JSON forbids)."""
    def refuse(token):
        raise AssertionError(f"non-finite number {token} in the results JSON")

    return json.loads(text, parse_constant=refuse)


def _walk(node, path: str, problems: list[str]) -> None:
    """Every guarded part has a known status; anything not ok carries a reason."""
    if isinstance(node, dict):
        if "status" in node and isinstance(node["status"], str):
            if node["status"] not in STATUSES:
                problems.append(f"{path}: status {node['status']!r}")
            elif node["status"] != "ok" and not str(node.get("reason") or "").strip():
                problems.append(f"{path}: {node['status']} without a reason")
        for key, value in node.items():
            _walk(value, f"{path}.{key}", problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk(value, f"{path}[{i}]", problems)
    elif isinstance(node, float):
        assert node == node and abs(node) != float("inf"), path


def _comparisons(node, path: str = "", found: list | None = None) -> list:
    """Every entry naming an ``arm`` against a ``reference``: one arm-vs-reference comparison."""
    found = [] if found is None else found
    if isinstance(node, dict):
        if "arm" in node and "reference" in node:
            found.append((path, node))
        for key, value in node.items():
            _comparisons(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _comparisons(value, f"{path}[{i}]", found)
    return found


def check_document(doc: dict) -> None:
    assert set(doc["sections"]) == set(SECTIONS)
    problems: list[str] = []
    for name, section in doc["sections"].items():
        if section.get("status") not in STATUSES:
            problems.append(f"{name}: no status")
        _walk(section, name, problems)
    for path, comparison in _comparisons(doc["sections"]):
        if comparison.get("status") not in STATUSES:
            problems.append(f"{path}: comparison without a status")
    assert not problems, "\n".join(problems)


@pytest.fixture
def trial_in_state(app, load_study):
    def make(name: str, state: str) -> None:
        key = load_study(name)
        if STATES[state] is None:
            return
        n, edit = STATES[state]
        with app.app_context():
            session = app.extensions["hwtrial"].db.session
            study = session.scalar(sa.select(Study).where(Study.key == key))
            insert(session, edit(generate(study.id, study.definition, n=n, seed=3)))

    return make


@pytest.mark.parametrize("name,state", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_every_section_answers(app, client, make_user, bearer, trial_in_state, name, state):
    trial_in_state(name, state)
    headers = bearer(make_user("admin")[1])
    for population in _populations(name):
        query = {"population": population} if population else {}
        r = client.get(f"/api/v1/studies/{name}/results", headers=headers, query_string=query)
        assert r.status_code == 200, (population, r.get_data(as_text=True)[:2000])
        check_document(_strict(r.get_data(as_text=True)))
        with app.app_context():  # the function behind `hwtrial analyze KEY`
            session = app.extensions["hwtrial"].db.session
            doc = build_results(session, None, name, population=population)
            session.rollback()
        check_document(_strict(app.json.dumps(doc)))
    for section in SECTIONS:  # one section at a time, as `?sections=` asks for it
        r = client.get(f"/api/v1/studies/{name}/results", headers=headers,
                       query_string={"sections": section})
        assert r.status_code == 200, (section, r.get_data(as_text=True)[:2000])
        body = _strict(r.get_data(as_text=True))
        assert list(body["sections"]) == [section]


def test_reference_arm_without_data_names_the_arm(client, make_user, bearer, trial_in_state):
    """Issue 9: only the non-reference arm has closed homework (was a KeyError, 500)."""
    trial_in_state("reminder-rct", "non_reference_arm_only")
    r = client.get("/api/v1/studies/reminder-rct/results",
                   headers=bearer(make_user("admin")[1]), query_string={"sections": "adherence"})
    assert r.status_code == 200
    adherence = r.get_json()["sections"]["adherence"]
    assert adherence["status"] == "ok", adherence
    [comparison] = adherence["comparisons"]
    assert comparison == {"arm": "reminders", "reference": "control", "status": "not_estimable",
                          "reason": "ValueError: the reference arm control has no closed "
                                    "homework instances yet"}


def test_nb2_boundary_dispersion_serialises_as_null(app):
    """An NB2 fit on the Poisson boundary has theta = inf: JSON null, with boundary true."""
    from hwtrial.analysis.counts import CountModelResult
    from hwtrial.analysis.results import to_dict

    fit = CountModelResult((), float("inf"), None, -12.5, 30, 30, boundary=True)
    doc = _strict(app.json.dumps(to_dict({"result": fit})))
    assert doc["result"]["dispersion"] is None and doc["result"]["boundary"] is True


def test_analyze_text_output_names_comparisons_that_cannot_be_made():
    from hwtrial.cli.analyze import render_table

    doc = {"study": "s", "title": "t", "version": 1, "blinded": False, "arms": [], "flags": [],
           "reference_arm": "control", "populations": ["itt"], "level": 0.95,
           "sections": {"adherence": {"status": "ok", "by_arm": [], "models": [], "comparisons": [
               {"arm": "reminders", "reference": "control", "status": "not_estimable",
                "reason": "the reference arm control has no closed homework instances yet"}]}}}
    text = render_table(doc)
    assert "reminders vs control: the reference arm control has no closed homework" in text


def test_a_section_that_meets_a_library_deprecation_is_still_ok():
    """pandas 2.0 beside numpy 1.26 warned 'np.find_common_type is deprecated' inside the MRT
    section, which was then reported not estimable with numpy's words as the reason."""
    from hwtrial.services.results_context import guarded

    def section():
        warnings.warn("np.find_common_type is deprecated", DeprecationWarning, stacklevel=1)
        return {"result": 1}

    with pytest.warns(DeprecationWarning):
        assert guarded(section) == {"status": "ok", "result": 1}

    def diverging():
        np.log(np.array([0.0]))
        return {"result": 2}

    assert guarded(diverging)["status"] == "not_estimable"
