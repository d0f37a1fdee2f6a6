"""hwtrial.analysis.descriptive: flow counts and baseline table, checked by hand-countable data."""

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.descriptive import arm_flow, baseline_table

DF = pd.DataFrame({
    "arm": ["A", "A", "A", "B", "B"],
    "age": [30.0, 40.0, np.nan, 20.0, 26.0],
    "sex": ["f", "m", "f", "f", None],
    "analysed": [True, True, False, True, True],
})


def test_arm_flow_counts():
    flows = arm_flow(DF, analysed="analysed")
    assert [(f.arm, f.randomised, f.analysed, f.excluded) for f in flows] == [
        ("A", 3, 2, 1), ("B", 2, 2, 0)]
    assert [f.analysed for f in arm_flow(DF)] == [3, 2]


def test_numeric_rows():
    rows = [r for r in baseline_table(DF, ["age"]) if r.variable == "age"]
    by_arm = {r.arm: r for r in rows}
    assert by_arm["A"].n == 2 and by_arm["A"].missing == 1
    assert by_arm["A"].mean == pytest.approx(35.0)
    assert by_arm["A"].sd == pytest.approx(np.sqrt(50.0))
    assert by_arm["overall"].mean == pytest.approx(29.0)
    assert by_arm["overall"].sd == pytest.approx(np.std([30, 40, 20, 26], ddof=1))


def test_categorical_rows_percent_of_non_missing():
    rows = baseline_table(DF, ["sex"], overall=False)
    cells = {(r.level, r.arm): (r.count, r.percent, r.n) for r in rows}
    assert cells[("f", "A")] == (2, pytest.approx(200 / 3), 3)
    assert cells[("m", "A")] == (1, pytest.approx(100 / 3), 3)
    assert cells[("f", "B")] == (1, pytest.approx(100.0), 1)
    assert cells[("m", "B")] == (0, pytest.approx(0.0), 1)
    # rows are grouped by level, then arm
    assert [(r.level, r.arm) for r in rows] == [("f", "A"), ("f", "B"), ("m", "A"), ("m", "B")]


def test_forced_categorical_numeric_column():
    rows = baseline_table(DF.assign(site=[1, 2, 1, 1, 2]), ["site"], categorical=["site"])
    assert {r.level for r in rows} == {"1", "2"}


def test_missing_column_named():
    with pytest.raises(ValueError, match="weight"):
        baseline_table(DF, ["weight"])
