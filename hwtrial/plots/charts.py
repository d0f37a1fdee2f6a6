"""The charts hwtrial draws: estimates with intervals, lines over time, grouped bars, histograms
and a forest plot of effects. Each takes plain data (lists, dicts, dates) and returns a Plot."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from .core import PALETTE, Plot, empty, new_figure, render, style


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def interval_bars(title: str, labels: Sequence[str], estimates: Sequence[float | None],
                  lower: Sequence[float | None], upper: Sequence[float | None], *,
                  ylabel: str, xlabel: str = "", percent: bool = False) -> Plot:
    """One point per group with its confidence interval (e.g. adherence per arm with 95% CIs).

    Groups without an estimate are listed in the text alternative as not estimable and left out
    of the drawing."""
    rows = [(lab, e, lo, hi) for lab, e, lo, hi in zip(labels, estimates, lower, upper, strict=True)]
    drawn = [r for r in rows if _finite(r[1])]
    if not drawn:
        return empty(title)
    scale = 100.0 if percent else 1.0
    with style():
        fig = new_figure()
        ax = fig.add_subplot()
        for i, (_, est, lo, hi) in enumerate(drawn):
            colour = PALETTE[i % len(PALETTE)]
            ax.bar(i, est * scale, color=colour, alpha=0.35, width=0.6)
            if _finite(lo, hi):
                ax.errorbar(i, est * scale, yerr=[[(est - lo) * scale], [(hi - est) * scale]],
                            fmt="o", color=colour, capsize=6, linewidth=1.5)
        ax.set_xticks(range(len(drawn)), [r[0] for r in drawn])
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        if percent:
            ax.set_ylim(0, 100)
        ax.set_title(title)
        unit = "%" if percent else ""
        parts = [f"{lab} {_fmt(e * scale if _finite(e) else None, 1 if percent else 2)}{unit}"
                 + (f" (CI {_fmt(lo * scale, 1 if percent else 2)} to {_fmt(hi * scale, 1 if percent else 2)})"
                    if _finite(e, lo, hi) else "")
                 if _finite(e) else f"{lab} not estimable" for lab, e, lo, hi in rows]
        return render(fig, title, f"{title}. " + "; ".join(parts) + ".")


def lines(title: str, series: Mapping[str, Sequence[tuple[date | datetime | float, float]]], *,
          ylabel: str, xlabel: str = "", percent: bool = False, step: bool = False) -> Plot:
    """One line per series (e.g. cumulative enrolment per arm, weekly adherence per arm)."""
    series = {name: list(points) for name, points in series.items() if points}
    if not series:
        return empty(title)
    scale = 100.0 if percent else 1.0
    with style():
        fig = new_figure()
        ax = fig.add_subplot()
        for i, (name, points) in enumerate(series.items()):
            xs = [p[0] for p in points]
            ys = [np.nan if p[1] is None else p[1] * scale for p in points]
            line_style = {"color": PALETTE[i % len(PALETTE)], "label": name, "linewidth": 1.8}
            if step:
                ax.step(xs, ys, where="post", **line_style)
            else:
                ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, **line_style)
        if percent:
            ax.set_ylim(0, 100)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(frameon=False)
        if isinstance(next(iter(series.values()))[0][0], date | datetime):
            xs = [p[0] for points in series.values() for p in points]
            if min(xs) == max(xs):  # one day only: give the date axis a range (else a warning)
                ax.set_xlim(min(xs) - timedelta(days=1), max(xs) + timedelta(days=1))
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator(maxticks=7)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        parts = []
        for name, points in series.items():
            last_x, last_y = points[-1]
            last = _fmt(None if last_y is None else last_y * scale, 1 if percent else 0)
            parts.append(f"{name}: {len(points)} points, last {last}{'%' if percent else ''} at {_x_text(last_x)}")
        return render(fig, title, f"{title}. " + "; ".join(parts) + ".")


def _x_text(x) -> str:
    if isinstance(x, datetime):
        return x.strftime("%Y-%m-%d %H:%M")
    if isinstance(x, date):
        return x.isoformat()
    return _fmt(float(x), 0)


def grouped_bars(title: str, groups: Sequence[str], series: Mapping[str, Sequence[float]], *,
                 ylabel: str, xlabel: str = "") -> Plot:
    """Bars per group, one colour per series (e.g. participants per stratum, one bar per arm)."""
    if not groups or not series or not any(any(v for v in vals) for vals in series.values()):
        return empty(title)
    width = 0.8 / len(series)
    with style():
        fig = new_figure()
        ax = fig.add_subplot()
        for i, (name, values) in enumerate(series.items()):
            xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
            ax.bar(xs, values, width=width, color=PALETTE[i % len(PALETTE)], label=name)
        ax.set_xticks(range(len(groups)), groups, rotation=30 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(frameon=False)
        parts = [f"{g}: " + ", ".join(f"{name} {_fmt(float(vals[j]), 0)}" for name, vals in series.items())
                 for j, g in enumerate(groups)]
        return render(fig, title, f"{title}. " + "; ".join(parts) + ".")


def histograms(title: str, samples: Mapping[str, Sequence[float]], *, xlabel: str,
               bins: int = 20) -> Plot:
    """Overlaid distributions per group (e.g. minutes on task per arm), as step outlines."""
    samples = {k: np.asarray([v for v in vals if _finite(v)], dtype=float) for k, vals in samples.items()}
    samples = {k: v for k, v in samples.items() if v.size}
    if not samples:
        return empty(title)
    everything = np.concatenate(list(samples.values()))
    low, high = float(everything.min()), float(everything.max())
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    with style():
        fig = new_figure()
        ax = fig.add_subplot()
        for i, (name, values) in enumerate(samples.items()):
            ax.hist(values, bins=edges, histtype="step", linewidth=1.8, color=PALETTE[i % len(PALETTE)],
                    label=f"{name} (n={values.size})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Count")
        ax.set_title(title)
        ax.legend(frameon=False)
        parts = [f"{name}: n={v.size}, median {_fmt(float(np.median(v)))}, range {_fmt(float(v.min()))} to {_fmt(float(v.max()))}"
                 for name, v in samples.items()]
        return render(fig, title, f"{title}. " + "; ".join(parts) + ".")


@dataclass(frozen=True)
class ForestRow:
    label: str
    estimate: float | None
    lower: float | None
    upper: float | None


def forest(title: str, rows: Sequence[ForestRow], *, xlabel: str, null: float = 0.0,
           log_scale: bool = False) -> Plot:
    """Effects with their confidence intervals, one row each, and a line at no effect
    (0 for differences, 1 with ``log_scale`` for ratios). Rows without an estimate are named as not
    estimable in the text alternative and drawn as a label only."""
    if not any(_finite(r.estimate, r.lower, r.upper) for r in rows):
        return empty(title, "No effect is estimable yet.")
    with style():
        longest = max(len(r.label) for r in rows)
        fig = new_figure(height=max(1.8, 1.2 + 0.42 * len(rows)), left=min(2.6, 0.3 + 0.075 * longest))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        for y, row in zip(ys, rows, strict=True):
            if _finite(row.estimate, row.lower, row.upper):
                ax.plot([row.lower, row.upper], [y, y], color=PALETTE[0], linewidth=1.8)
                ax.plot([row.estimate], [y], marker="s", color=PALETTE[0], markersize=6)
            else:
                ax.annotate("not estimable", (0, y), xycoords=("axes fraction", "data"),
                            xytext=(6, 0), textcoords="offset points", va="center", color="#444444")
        ax.axvline(null, color="#555555", linestyle="--", linewidth=1)
        if log_scale:
            ax.set_xscale("log")
        ax.set_yticks(ys, [r.label for r in rows])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        parts = [f"{r.label} {_fmt(r.estimate)} (CI {_fmt(r.lower)} to {_fmt(r.upper)})"
                 if _finite(r.estimate, r.lower, r.upper) else f"{r.label} not estimable" for r in rows]
        return render(fig, title, f"{title}. " + "; ".join(parts) + ".")
