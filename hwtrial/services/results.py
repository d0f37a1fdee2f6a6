"""Use case: the full results document of a study (API ``GET .../results``, ``hwtrial analyze``).

Load (the study, in the caller's scope), authorise (which arm labels the caller may see),
act (aggregate in SQL, analyse with :mod:`hwtrial.analysis`, serialise). Read-only: it
writes nothing, so there is nothing to flush or audit.

Document shape::

    {"study", "title", "version", "blinded", "arm_labels": "key"|"code", "arms",
     "reference_arm", "level", "populations", "flags": [str],
     "sections": {name: {"status": "ok"|"not_estimable"|"not_applicable", ...}}}

A section whose model cannot be fitted reports ``{"status": "not_estimable", "reason"}``
instead of a number; parts of a section (one model, one metric) are guarded the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from hwtrial.analysis.results import to_dict

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Study
from . import results_designs as designs
from . import results_outcomes as outcomes
from . import results_sections as basic
from .blinding import can_see_arms
from .results_cache import Served, lookup
from .results_context import build_context, guarded
from .results_data import ResultsInput, load_input
from .studies import get_study

#: Section name → builder, in document order.
SECTIONS = {
    "flow": basic.flow,
    "srm": basic.srm,
    "baseline": basic.baseline,
    "adherence": basic.adherence,
    "engagement": basic.engagement,
    "outcomes": outcomes.outcomes,
    "factorial": designs.factorial,
    "cluster": designs.cluster,
    "mrt": designs.mrt,
}


def sees_arms(principal: Principal | None, study: Study) -> bool:
    """Whether the caller may see arm keys (else blinded codes); the CLI operator may."""
    return True if principal is None else can_see_arms(principal, study)


def parse_sections(sections: str | Iterable[str] | None) -> list[str]:
    """Section names asked for (comma-separated or a list); all when None."""
    if sections is None:
        return list(SECTIONS)
    names = sections.split(",") if isinstance(sections, str) else list(sections)
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise ServiceError(422, "unknown results section", {
            "sections": [f"choose from {', '.join(SECTIONS)}; got {', '.join(unknown) or '-'}"]})
    return [n for n in SECTIONS if n in names]


def _flags(sections: dict[str, Any]) -> list[str]:
    """Warnings shown before any estimate: sample-ratio mismatches."""
    flags = []
    srm = sections.get("srm", {})
    if srm.get("status") == "ok" and srm["allocation"].flagged:
        flags.append(f"sample ratio mismatch in allocation (p = {srm['allocation'].p_value:.3g})")
    completion = srm.get("outcome_completion", {})
    if completion.get("status") == "ok" and completion["result"].flagged:
        flags.append("sample ratio mismatch in primary outcome completion "
                     f"(p = {completion['result'].p_value:.3g})")
    return flags


def is_micro_randomised(definition: dict[str, Any]) -> bool:
    return any(a.get("features", {}).get("reminders", {}).get("policy") == "micro_randomised"
               for a in definition["arms"])


def build_results(session: Session, principal: Principal | None, study_key: str, *,
                  population: str | None = None,
                  sections: str | Iterable[str] | None = None) -> dict[str, Any]:
    """The results document of study ``study_key`` (JSON-ready dict).

    Served from :mod:`.results_cache` while the study's data stamp is unchanged (API, staff
    results page, report and CLI all come through here and share it).

    Parameters
    ----------
    session : Session
        Database session (only read).
    principal : Principal or None
        The caller; ``None`` for the CLI operator (unblinded).
    study_key : str
        Study slug; 404 when unknown or outside the caller's token scope.
    population : {"itt", "per_protocol"}, optional
        Report only this population (default: the plan's populations).
    sections : str or iterable of str, optional
        Subset of :data:`SECTIONS` (comma-separated string or list).
    """
    study = get_study(session, principal, study_key)
    return results_of(session, study, blind=not sees_arms(principal, study), population=population,
                      sections=sections).value


def results_of(session: Session, study: Study, *, blind: bool, population: str | None = None,
               sections: str | Iterable[str] | None = None, stale_ok: bool = False) -> Served:
    """:func:`build_results` for a study already looked up and a caller's blinding already
    decided; ``stale_ok`` lets a slow document be served from its last computation while a
    new one is made (see :func:`.results_cache.lookup`)."""
    names = parse_sections(sections)
    # decision points tell a micro-randomised arm from the others; in a one-arm study they do not
    micro = ("mrt" in names and (not blind or len(study.definition["arms"]) == 1)
             and is_micro_randomised(study.definition))

    def compute(session: Session, study: Study) -> dict[str, Any]:
        data = load_input(session, study, micro_randomised=micro, blinded=blind)
        return results_document(data, blind=blind, population=population, sections=names)

    # The document depends only on the data (stamped), the caller's blinding and the query.
    return lookup(session, study, ("results", "blind" if blind else "arms", population, tuple(names)),
                  compute, stale_ok=stale_ok)


def results_document(data: ResultsInput, *, blind: bool, population: str | None = None,
                     sections: str | Iterable[str] | None = None) -> dict[str, Any]:
    """The results document computed from ``data`` alone (no database: also offline)."""
    names = parse_sections(sections)
    try:
        ctx = build_context(data.definition, data.tables, sees_arms=not blind, population=population)
    except ValueError as error:
        raise ServiceError(422, str(error), {"population": [str(error)]}) from None
    body = {name: guarded(SECTIONS[name], ctx) for name in names}
    doc = {"study": data.study, "title": data.title, "version": data.version,
           "blinded": blind, "arm_labels": "code" if blind else "key",
           "arms": [{"label": a, "ratio": ctx.ratios[a]} for a in ctx.arm_order],
           "reference_arm": ctx.reference, "level": ctx.level, "populations": ctx.populations,
           "flags": _flags(body), "sections": body}
    return to_dict(doc)
