"""The CONSORT flow as an SVG diagram in the CONSORT 2010 layout (PURE: Consort in, Plot out).

Drawn by hand rather than with matplotlib: it is boxes, arrows and text, the text stays
selectable, and it takes microseconds. Rows: Enrolment (assessed, enrolled, allocated),
Allocation (one box per arm), Follow-up (per arm: each timepoint, withdrawals) and Analysis
(per arm: each population). The Plot's ``alt`` says every number in words.
"""

from __future__ import annotations

import textwrap
from html import escape

from hwtrial.plots import Plot

from .consort import ArmFlow, Consort

COLUMN, GAP, MARGIN, LINE, PAD, STAGE = 300, 24, 16, 15, 8, 22
#: Characters per line in an arm's box (11 px DejaVu Sans is about 6.1 px a character).
WRAP = 46
FAMILY = "font-family='DejaVu Sans, Arial, sans-serif'"
FONT = FAMILY + " font-size='11'"


def _n(value: int | None) -> str:
    return "not recorded" if value is None else str(value)


def _allocation_lines(arm: ArmFlow) -> list[str]:
    return [f"Allocated to {arm.arm} (n = {arm.allocated})",
            f"Received the allocated features (n = {arm.received})",
            f"Not (yet) received them (n = {arm.not_received})"]


def _followup_lines(arm: ArmFlow, reasons_shown: bool) -> list[str]:
    lines = ["Per questionnaire timepoint:"] if arm.followup else []
    for tp in arm.followup:
        lines.append(f"{tp.timepoint}: assessed {tp.assessed}, lost to follow-up {tp.lost}")
        lines.append(f"  withdrew before {tp.withdrew_before}, not yet due {tp.not_yet_due}")
    if not arm.followup:
        lines.append("No questionnaire timepoints")
    lines.append(f"Withdrew (n = {arm.withdrawn})")
    lines.append(f"  by the participant {arm.withdrawn_by_participant}, by staff "
                 f"{arm.withdrawn_by_staff}; data use {arm.data_use_withdrawn}")
    if reasons_shown:
        for reason, count in arm.reasons[:4]:
            lines.append(f"  {count} x {reason}")
        if len(arm.reasons) > 4:
            lines.append(f"  and {len(arm.reasons) - 4} other reasons")
    elif arm.withdrawn:
        lines.append("  (reasons shown only to unblinded readers)")
    return lines


def _analysis_lines(arm: ArmFlow) -> list[str]:
    lines = []
    for pop in arm.analysed:
        name = {"itt": "Intention to treat", "per_protocol": "Per protocol"}.get(pop.population,
                                                                                pop.population)
        lines.append(f"{name}: analysed (n = {pop.analysed})")
        lines.append(f"  excluded from analysis (n = {pop.excluded})")
    return lines or ["No analysis population"]


def _wrap(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        indent = "    " if line.startswith("  ") else ""
        out += textwrap.wrap(line, WRAP, subsequent_indent=indent) or [""]
    return out


def _box(x: float, y: float, w: float, lines: list[str], height: float) -> str:
    text = "".join(f"<tspan x='{x + PAD:.0f}' dy='{LINE if i else LINE - 3}'>{escape(t)}</tspan>"
                   for i, t in enumerate(lines))
    return (f"<rect x='{x:.0f}' y='{y:.0f}' width='{w:.0f}' height='{height:.0f}' rx='4' "
            f"fill='#ffffff' stroke='#1f3b57' stroke-width='1.2'/>"
            f"<text x='{x + PAD:.0f}' y='{y + PAD:.0f}' {FONT} fill='#111111'>{text}</text>")


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f"<line x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}' stroke='#1f3b57' "
            f"stroke-width='1.2' marker-end='url(#consort-arrow)'/>")


def _stage(y: float, width: float, label: str) -> str:
    return (f"<rect x='{MARGIN}' y='{y:.0f}' width='{width - 2 * MARGIN:.0f}' height='{STAGE - 4}' "
            f"fill='#dce9f5'/><text x='{MARGIN + PAD}' y='{y + STAGE - 9:.0f}' {FONT} "
            f"font-weight='bold' fill='#1f3b57'>{escape(label)}</text>")


def describe(consort: Consort) -> str:
    """Every number of the diagram in sentences (the image's text alternative)."""
    parts = [f"CONSORT flow diagram. Assessed for eligibility: {_n(consort.assessed)}. "
             f"Enrolled: {consort.enrolled}. Allocated: {consort.allocated}."]
    for arm in consort.arms:
        follow = "; ".join(f"{tp.timepoint}: {tp.assessed} assessed, {tp.lost} lost to follow-up, "
                           f"{tp.withdrew_before} withdrew before, {tp.not_yet_due} not yet due"
                           for tp in arm.followup)
        analysed = "; ".join(f"{p.population}: {p.analysed} analysed, {p.excluded} excluded"
                             for p in arm.analysed)
        parts.append(f"Arm {arm.arm}: {arm.allocated} allocated, {arm.received} received the "
                     f"allocated features. Follow-up: {follow or 'no timepoints'}. "
                     f"Withdrew: {arm.withdrawn} ({arm.data_use_withdrawn} also withdrew data use). "
                     f"Analysis: {analysed or 'none'}.")
    return " ".join(parts)


def consort_diagram(consort: Consort, title: str = "CONSORT flow diagram") -> Plot:
    """The flow of ``consort`` as a CONSORT-layout SVG (see the module docstring)."""
    k = max(len(consort.arms), 1)
    width = 2 * MARGIN + k * COLUMN + (k - 1) * GAP
    xs = [MARGIN + i * (COLUMN + GAP) for i in range(k)]
    parts, y = [], MARGIN
    parts.append(f"<text x='{width / 2:.0f}' y='{y + 12}' {FAMILY} font-size='14' font-weight='bold' "
                 f"text-anchor='middle'>{escape(title)}</text>")
    y += 26
    parts.append(_stage(y, width, "Enrolment"))
    y += STAGE + 6
    top_w = min(width - 2 * MARGIN, 2 * COLUMN)
    top_x = (width - top_w) / 2
    enrol_lines = [f"Assessed for eligibility (n = {_n(consort.assessed)})",
                   f"Enrolled (n = {consort.enrolled})",
                   f"Not allocated (n = {consort.not_allocated})"]
    h = len(enrol_lines) * LINE + 2 * PAD
    parts.append(_box(top_x, y, top_w, enrol_lines, h))
    y += h
    parts.append(_arrow(width / 2, y, width / 2, y + 20))
    y += 22
    alloc = [f"Randomised / allocated (n = {consort.allocated})"]
    h = LINE + 2 * PAD
    parts.append(_box(top_x, y, top_w, alloc, h))
    y += h
    branch = y + 14
    if consort.arms:
        centres = [x + COLUMN / 2 for x in xs]
        parts.append(f"<line x1='{width / 2:.0f}' y1='{y:.0f}' x2='{width / 2:.0f}' y2='{branch:.0f}' "
                     "stroke='#1f3b57' stroke-width='1.2'/>")
        parts.append(f"<line x1='{min(centres):.0f}' y1='{branch:.0f}' x2='{max(centres):.0f}' "
                     f"y2='{branch:.0f}' stroke='#1f3b57' stroke-width='1.2'/>")
    y = branch
    rows = (("Allocation", [_allocation_lines(a) for a in consort.arms]),
            ("Follow-up", [_followup_lines(a, consort.reasons_shown) for a in consort.arms]),
            ("Analysis", [_analysis_lines(a) for a in consort.arms]))
    for stage, columns in rows:
        columns = [_wrap(c) for c in columns]
        if stage != "Allocation":
            y += 6
        parts.append(_stage(y + 4, width, stage))
        top = y + STAGE + 14
        for x in xs[:len(columns)]:
            parts.append(_arrow(x + COLUMN / 2, y, x + COLUMN / 2, top - 2))
        h = max((len(c) for c in columns), default=1) * LINE + 2 * PAD
        for x, lines in zip(xs, columns, strict=False):
            parts.append(_box(x, top, COLUMN, lines, h))
        if not columns:
            parts.append(_box(xs[0], top, COLUMN, ["Nobody allocated yet"], h))
        y = top + h
    height = y + MARGIN
    alt = describe(consort)
    svg = (f"<svg role='img' xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' "
           f"height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}'>"
           f"<title>{escape(title)}</title><desc>{escape(alt)}</desc>"
           "<defs><marker id='consort-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
           "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#1f3b57'/></marker></defs>"
           f"<rect width='{width:.0f}' height='{height:.0f}' fill='#ffffff'/>" + "".join(parts) + "</svg>")
    return Plot(title=title, alt=alt, svg=svg, has_data=consort.enrolled > 0)
