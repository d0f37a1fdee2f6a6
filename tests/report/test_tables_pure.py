"""Result rows from a results document: estimates found by their shape, reasons in plain words."""

from __future__ import annotations

from hwtrial.report.tables import adherence_forest, outcome_forest, plain_reason, result_tables


def est(name, value, method="wald"):
    return {"name": name, "estimate": value, "se": 0.1, "ci_low": value - 1, "ci_high": value + 1,
            "p_value": 0.04, "n": 20, "method": method, "level": 0.95, "extra": {}}


DOC = {"level": 0.95, "flags": ["sample ratio mismatch in allocation (p = 0.001)"], "sections": {
    "flow": {"status": "ok", "arms": []},
    "srm": {"status": "not_applicable", "reason": "a single-arm study has no allocation ratio to check"},
    "adherence": {"status": "ok", "by_arm": [{"arm": "A", "n": 10, "completion": est("completion", 0.5)}],
                  "comparisons": [{"arm": "B", "reference": "A", "status": "ok",
                                   "completion": {"risk_difference": est("risk_difference", 0.1)}},
                                  {"arm": "C", "reference": "A", "status": "not_estimable",
                                   "reason": "RuntimeWarning: invalid value encountered in scalar divide"}],
                  "models": [{"status": "not_estimable", "reason": "LinAlgError: Singular matrix"}]},
    "outcomes": {"status": "ok", "measures": [{"instrument": "phq9", "timepoint": "week8", "populations": {
        "itt": {"ancova": {"status": "ok", "result": {"effects": [est("arm[B]", -2.0)],
                                                       "coefficients": [est("Intercept", 3.0)]}}},
        "per_protocol": {"ancova": {"status": "not_estimable",
                                    "reason": "ValueError: 3 participants for 4 parameters"}}}}]},
}}


def test_plain_reasons_never_show_a_warning():
    assert plain_reason("ValueError: no closed homework instances yet") == "no closed homework instances yet"
    assert plain_reason("not a factorial study") == "not a factorial study"
    for raw in ("RuntimeWarning: invalid value encountered in scalar divide", "LinAlgError: Singular matrix",
                "PerfectSeparationWarning: perfect separation", "ZeroDivisionError: division by zero"):
        text = plain_reason(raw)
        assert "Warning" not in text and "Error" not in text and "invalid value" not in text
        assert text.startswith("the model could not be fitted")


def test_rows_found_by_shape_with_their_names():
    tables = result_tables(DOC)
    labels = [(r.section, r.label, r.estimate) for r in tables.estimates]
    assert labels == [("Homework adherence", "A, completion", 0.5),
                      ("Homework adherence", "B vs A, completion, risk difference", 0.1),
                      ("Outcomes", "phq9@week8, ITT, ANCOVA, arm[B]", -2.0)]  # coefficients left out
    missing = [(m.section, m.label, m.status) for m in tables.missing]
    assert missing == [("Sample ratio", "whole section", "not applicable"),
                       ("Homework adherence", "C vs A", "not estimable"),
                       ("Homework adherence", "model", "not estimable"),
                       ("Outcomes", "phq9@week8, per protocol, ANCOVA", "not estimable")]
    assert tables.flags == ("sample ratio mismatch in allocation (p = 0.001)",)
    assert [m.reason for m in tables.missing][-1] == "3 participants for 4 parameters"


def test_forest_rows():
    assert [(r.label, r.estimate) for r in outcome_forest(DOC)] == [("phq9@week8 ITT: arm[B]", -2.0),
                                                                     ("phq9@week8 per protocol", None)]
    assert [(r.label, round(r.estimate, 6)) for r in adherence_forest(DOC) if r.estimate is not None] == [("B vs A", 10.0)]
    assert [r.label for r in adherence_forest(DOC)] == ["B vs A", "C vs A"]
