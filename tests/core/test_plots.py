"""Server-drawn SVG plots: valid, self-contained SVG with a title and a text alternative that
states the numbers; the same data gives the same bytes; no data gives a labelled empty plot."""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from hwtrial.plots import ForestRow, empty, forest, grouped_bars, histograms, interval_bars, lines

SVG = "{http://www.w3.org/2000/svg}"


def texts(plot) -> str:
    root = ET.fromstring(plot.svg)
    return " ".join("".join(el.itertext()) for el in root.iter(f"{SVG}text"))


def every_plot():
    return {
        "interval": interval_bars("Adherence per arm", ["Control", "Reminders"], [0.5, 0.7],
                                  [0.4, 0.6], [0.6, 0.8], ylabel="Submitted (%)", percent=True),
        "lines": lines("Enrolment", {"A": [(date(2026, 1, 1), 1), (date(2026, 1, 3), 4)],
                                     "B": [(date(2026, 1, 2), 2)]}, ylabel="Participants", step=True),
        "bars": grouped_bars("Balance", ["site 1", "site 2"], {"A": [3, 4], "B": [3, 5]}, ylabel="n"),
        "hist": histograms("Minutes on task", {"A": [1, 2, 3, 4], "B": [2, 3, 5]}, xlabel="Minutes"),
        "forest": forest("Effects", [ForestRow("Reminders vs control", 0.2, 0.05, 0.35),
                                     ForestRow("Review vs control", None, None, None)],
                         xlabel="Difference"),
    }


@pytest.mark.parametrize("name", ["interval", "lines", "bars", "hist", "forest"])
def test_each_plot_is_self_contained_svg_with_title_and_alternative(name):
    plot = every_plot()[name]
    root = ET.fromstring(plot.svg)  # well-formed, no XML prolog (it may be inlined)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f".//{SVG}title") is not None
    assert plot.title in texts(plot) and plot.alt.startswith(plot.title)
    assert plot.has_data
    # Nothing outside the file: no links, no fonts or scripts to load.
    assert "<script" not in plot.svg and "href=\"http" not in plot.svg and "@import" not in plot.svg
    assert base64.b64decode(plot.data_uri.split(",", 1)[1]).decode() == plot.svg


def test_text_alternatives_state_the_numbers_and_what_is_not_estimable():
    plots = every_plot()
    assert plots["interval"].alt == ("Adherence per arm. Control 50.0% (CI 40.0 to 60.0); "
                                     "Reminders 70.0% (CI 60.0 to 80.0).")
    assert "Review vs control not estimable" in plots["forest"].alt
    assert "not estimable" in texts(plots["forest"])
    assert "A: n=4, median 2.50" in plots["hist"].alt
    assert "site 2: A 4, B 5" in plots["bars"].alt


def test_same_data_same_bytes():
    assert every_plot()["interval"].svg == every_plot()["interval"].svg


@pytest.mark.parametrize("plot", [
    interval_bars("Adherence", ["A"], [None], [None], [None], ylabel="%"),
    interval_bars("Adherence", ["A", "B"], [math.nan, math.nan], [None, None], [None, None], ylabel="%"),
    lines("Enrolment", {"A": []}, ylabel="n"),
    grouped_bars("Balance", [], {}, ylabel="n"),
    histograms("Minutes", {"A": [math.nan]}, xlabel="min"),
    forest("Effects", [ForestRow("B vs A", None, None, None)], xlabel="d"),
])
def test_no_data_is_a_labelled_empty_plot(plot):
    assert not plot.has_data
    assert plot.title in texts(plot) and ("No data yet." in plot.alt or "No effect" in plot.alt)


def test_one_arm_is_drawn():
    plot = interval_bars("Adherence", ["Only arm"], [0.4], [0.2], [0.6], ylabel="%", percent=True)
    assert plot.has_data and "Only arm 40.0%" in plot.alt


def test_empty_helper_takes_a_message():
    assert empty("Safety", "Nothing to show.").alt == "Safety: Nothing to show."


def test_a_warning_while_matplotlib_starts_does_not_cost_the_reports_plots():
    """The report draws with warnings as errors (a warning about the data gives a placeholder),
    but a warning while matplotlib itself is imported (matplotlib before 3.11 warns about
    pyparsing 3.3's camelCase names at start; any warning there) is not about the data: the first
    plot of a fresh process is drawn, and so are the next ones (an import stopped half-way would
    break them all)."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import importlib.abc, sys, warnings
from datetime import date

class WarnOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.startswith("matplotlib"):
            warnings.warn(f"{name}: a warning while it starts", UserWarning)
        return None

assert "matplotlib" not in sys.modules
sys.meta_path.insert(0, WarnOnImport())
from hwtrial.plots import lines
from hwtrial.report.figures import _drawn

for title in ("first", "second"):
    plot = _drawn(title, lambda: lines(title, {"a": [(date(2026, 3, 2), 1.0), (date(2026, 3, 3), 2.0)]},
                                       ylabel="n"))
    print(title, plot.has_data)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["first", "True", "second", "True"]
