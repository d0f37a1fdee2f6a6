"""The :class:`Plot` result and the one place a matplotlib figure becomes SVG text."""

from __future__ import annotations

import base64
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Text stays text (smaller, crisp, readable by tools); a fixed salt keeps the SVG's ids, and so
# the report's bytes, the same for the same data.
RC = {"svg.fonttype": "none", "svg.hashsalt": "hwtrial", "font.size": 10,
      "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"], "axes.spines.top": False,
      "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold"}
#: Colour-blind-safe palette (Okabe and Ito), in the order arms are listed.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 6.4, 3.6  # inches at 96 dpi: 614 x 346 px, scales down on a phone


@dataclass(frozen=True)
class Plot:
    """An SVG plot with its title and text alternative (for ``alt`` and screen readers)."""

    title: str
    alt: str
    svg: str
    has_data: bool = True

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def load_matplotlib() -> None:
    """Import matplotlib and every part of it hwtrial draws with (once; later calls cost nothing).

    A caller that turns warnings into errors around a drawing (the report's :func:`_drawn`) calls
    this first, outside that filter: an import stopped half-way by an escalated warning (matplotlib
    before 3.11 warns about pyparsing 3.3's camelCase names while it starts) leaves a
    half-initialised ``matplotlib`` in ``sys.modules``, and every later plot of the process fails
    (``module 'matplotlib' has no attribute 'rcParams'``).
    """
    import matplotlib
    import matplotlib.backends.backend_svg
    import matplotlib.dates
    import matplotlib.figure  # noqa: F401


@contextmanager
def style():
    """matplotlib with hwtrial's settings. Imported here, not at module import: the app (and every
    gunicorn worker) starts without it, and a fresh machine builds matplotlib's font cache on the
    first plot rather than while a server is starting."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float = WIDTH, height: float = HEIGHT, left: float = 0.75) -> Figure:
    """A figure with fixed margins in inches (constrained layout would double the drawing time;
    ``left`` makes room for long category labels)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    fig.subplots_adjust(left=left / width, right=1 - 0.2 / width, top=1 - 0.45 / height,
                        bottom=min(0.45, 0.75 / height))
    return fig


def render(fig: Figure, title: str, alt: str, has_data: bool = True) -> Plot:
    buffer = io.StringIO()
    with style():
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Title": title, "Description": alt})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG may be inlined in HTML
    svg = re.sub(r"<svg ", '<svg role="img" ', svg, count=1)
    return Plot(title=title, alt=alt, svg=svg, has_data=has_data)


def empty(title: str, message: str = "No data yet.") -> Plot:
    """A plot without data: the title and the message, drawn (so the layout holds) and as text."""
    with style():
        fig = new_figure(height=1.6)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_title(title)
        ax.text(0.5, 0.4, message, ha="center", va="center", color="#444444", transform=ax.transAxes)
        return render(fig, title, f"{title}: {message}", has_data=False)
