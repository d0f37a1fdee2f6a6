"""``hwtrial analyze``: a readable table, and ``--json`` byte-equal to the API body."""

from __future__ import annotations

import json

from hwtrial.cli import hwtrial_group


def test_json_is_the_api_document(client, runner, make_trial, make_user, bearer):
    make_trial("reminder-rct", n=120, seed=8)
    body = client.get("/api/v1/studies/reminder-rct/results",
                      headers=bearer(make_user("admin")[1])).get_data(as_text=True)
    out = runner.invoke(hwtrial_group, ["analyze", "reminder-rct", "--json"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == body.strip()
    assert json.loads(out.output)["sections"]["outcomes"]["status"] == "ok"


def test_table_shows_flow_effects_and_flags(runner, make_trial):
    make_trial("reminder-rct", n=300, seed=4, weights=(0.7, 0.3))
    out = runner.invoke(hwtrial_group, ["analyze", "reminder-rct"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "FLAG: sample ratio mismatch in allocation" in text
    assert "== flow" in text and "reminders" in text
    assert "phq9@week8 itt arm[reminders]" in text
    assert "adjusted (holm)" in text
    assert "FLAGGED" in text


def test_unknown_study_fails_readably(runner):
    out = runner.invoke(hwtrial_group, ["analyze", "nope"])
    assert out.exit_code != 0 and "no study 'nope'" in out.output
