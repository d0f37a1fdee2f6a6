"""Plots drawn on the server as SVG (PURE: plain data in, :class:`Plot` out; no Flask, no database).

Staff pages and the trial report embed a plot as ``<img src="{{ plot.data_uri }}" alt="{{ plot.alt }}">``:
an SVG image is self-contained (the report opens with no network) and works under the strict CSP
(inline SVG would need inline styles). Every plot carries a title and a text alternative, and a
plot without data says so instead of failing: an empty trial is a normal state.
"""

from .charts import ForestRow, forest, grouped_bars, histograms, interval_bars, lines
from .core import Plot, empty, load_matplotlib

__all__ = ["Plot", "empty", "load_matplotlib", "ForestRow", "forest", "grouped_bars", "histograms", "interval_bars", "lines"]
