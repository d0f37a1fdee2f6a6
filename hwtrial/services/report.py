"""Use cases: the CONSORT flow of a study and the trial report (CLI ``hwtrial report``, API
``GET .../report.html``, the staff results page).

Load (the study, in the caller's scope), authorise (arm keys or blinded codes, as the results
document decides), act (a few grouped queries, the pure cores in :mod:`hwtrial.report`).
Read-only: nothing to flush or audit.

Every arm name the pure cores see is already the caller's label (key or code), so a blinded
report cannot hold an arm key; features are named only for callers who may see arms, and
free-text withdrawal reasons likewise (a reason may name the feature that annoyed someone).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..models import (
    Allocation,
    AuditEntry,
    FeatureExposure,
    HomeworkInstance,
    Participant,
    QuestionnaireResponse,
    Study,
    utcnow,
)
from ..plots import Plot
from ..report.consort import Consort, ParticipantRecord, consort_flow
from ..report.figures import ReportData, report_plots
from ..report.summary import design_summary
from ..report.tables import ResultTables, result_tables
from ..studydef.blind import blind_definition
from .arm_series import arm_series
from .blinding import arm_codes
from .results import build_results, results_of, sees_arms
from .results_cache import Served, lookup
from .studies import get_study


@dataclass(frozen=True)
class TrialReport:
    """Everything the report and the staff results page show, computed once."""

    study_key: str
    title: str
    blinded: bool
    generated_at: datetime
    design: dict[str, Any]
    results: dict[str, Any]
    tables: ResultTables
    consort: Consort
    plots: dict[str, Plot]
    #: None: computed from the data as they are now; else when the (stale) parts shown were
    #: computed (the staff results page only, while a newer computation runs).
    stale_since: datetime | None = None


def _labels(study: Study, blind: bool) -> dict[str, str]:
    codes = arm_codes(study)
    return {key: code if blind else key for key, code in codes.items()}


def _withdrawals(session: Session, study: Study) -> dict[int, tuple[str, str]]:
    """Participant id to (who withdrew them, reason) from the first withdrawal audit entry."""
    rows = session.execute(sa.select(AuditEntry.target, AuditEntry.actor, AuditEntry.payload)
                           .where(AuditEntry.study_key == study.key,
                                  AuditEntry.action == "participant.withdraw")
                           .order_by(AuditEntry.seq))
    out: dict[int, tuple[str, str]] = {}
    for target, actor, payload in rows:
        pid = int(target.split(":", 1)[1])
        if pid not in out:
            who = "participant" if actor.startswith("participant:") else "staff"
            out[pid] = (who, (json.loads(payload).get("reason") or "").strip())
    return out


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    arm_key: str | None
    enrolled_at: datetime
    timezone: str | None
    status: str
    withdrawn_at: datetime | None
    exclude_data: bool
    strata: dict | None


def _participants(session: Session, study: Study) -> list[_Person]:
    # Plain objects, not SQLAlchemy rows: 10,000 ``Row``s with type processing cost about
    # 0.3 s here; the column types still convert (aware datetimes, JSON strata).
    rows = session.execute(
        sa.select(Participant.id, Allocation.arm_key, Participant.enrolled_at, Participant.timezone,
                  Participant.status, Participant.withdrawn_at, Participant.exclude_data,
                  Participant.strata)
        .outerjoin(Allocation, Allocation.participant_id == Participant.id)
        .where(Participant.study_id == study.id).order_by(Participant.id))
    return [_Person(*row) for row in rows]


def _exposed(session: Session, study: Study) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(sa.select(FeatureExposure.participant_id, FeatureExposure.feature)
                           .join(Participant, Participant.id == FeatureExposure.participant_id)
                           .where(Participant.study_id == study.id))
    for pid, feature in rows:
        out[pid].add(feature)
    return out


def _responded(session: Session, study: Study) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(sa.select(QuestionnaireResponse.participant_id,
                                     QuestionnaireResponse.timepoint_key).distinct()
                           .where(QuestionnaireResponse.study_id == study.id))
    for pid, timepoint in rows:
        out[pid].add(timepoint)
    return out


def _analysed(doc: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Population to {arm label: analysed} from the results document's flow section."""
    flow = doc["sections"].get("flow") or {}
    rows = flow.get("arms", []) if flow.get("status") == "ok" else []
    return {pop: {r["arm"]: int(r.get(f"analysed_{pop}", 0)) for r in rows}
            for pop in doc["populations"]}


def _consort(session: Session, study: Study, doc: dict[str, Any], people: list[sa.Row],
             labels: dict[str, str], blind: bool, now: datetime) -> Consort:
    withdrawals = _withdrawals(session, study)
    records = []
    for p in people:
        who, reason = withdrawals.get(p.id, ("staff", "reason not recorded"))
        withdrawn = p.status == "withdrawn"
        records.append(ParticipantRecord(
            id=p.id, arm=labels.get(p.arm_key) if p.arm_key else None, enrolled_at=p.enrolled_at,
            timezone=p.timezone or "UTC", status=p.status, withdrawn_at=p.withdrawn_at,
            withdrawn_by=who if withdrawn else None,
            reason=(reason or "no reason given") if withdrawn and not blind else None,
            data_use_withdrawn=bool(p.exclude_data)))
    definition = study.definition
    return consort_flow(
        records, arms=[labels[a["key"]] for a in definition["arms"]],
        arm_features={labels[a["key"]]: sorted(a.get("features") or {}) for a in definition["arms"]},
        exposed=_exposed(session, study), timepoints=definition["questionnaires"]["timepoints"],
        responded=_responded(session, study), analysed=_analysed(doc), now=now,
        reasons_shown=not blind)


def consort_for(session: Session, principal: Principal | None, study_key: str, *,
                now: datetime | None = None) -> Consort:
    """The CONSORT flow of ``study_key`` as the caller may see it (codes when blinded)."""
    study = get_study(session, principal, study_key)
    blind = not sees_arms(principal, study)
    doc = build_results(session, principal, study_key, sections="flow")
    return _consort(session, study, doc, _participants(session, study), _labels(study, blind), blind,
                    now or utcnow())


def _engagement(session: Session, study: Study) -> list[sa.Row]:
    """Per participant, over submitted homework: mean minutes on task, mean edits, mean effort."""
    i = HomeworkInstance
    return session.execute(
        sa.select(Allocation.arm_key, sa.func.avg(i.active_seconds) / 60.0, sa.func.avg(i.edits),
                  sa.func.avg(i.effort))
        .join(Allocation, Allocation.participant_id == i.participant_id)
        .where(i.study_id == study.id, i.state == "submitted")
        .group_by(i.participant_id, Allocation.arm_key)).all()


def _report_data(session: Session, study: Study, doc: dict[str, Any], labels: dict[str, str]) -> ReportData:
    """The plots' inputs; enrolment, balance and weekly adherence from the same service as the
    staff study page (:func:`.arm_series.arm_series`), allocated participants only."""
    arms = [labels[a["key"]] for a in study.definition["arms"]]
    series = arm_series(session, study)
    enrolled: dict[str, list[date]] = {arm: [] for arm in arms}
    for day, arm_key, n in series.enrolment:
        if arm_key is not None:
            enrolled[labels[arm_key]] += [day] * n
    strata: dict[str, dict[str, dict[str, int]]] = {
        s["key"]: {lv: dict.fromkeys(arms, 0) for lv in s["levels"]}
        for s in study.definition.get("stratification") or []}
    for values, arm_key, n in series.strata:
        if arm_key is None:
            continue
        for factor, levels in strata.items():
            level = values.get(factor)
            if level in levels:
                levels[level][labels[arm_key]] += n
    weekly: dict[str, list[tuple[date, int, int]]] = {arm: [] for arm in arms}
    for week, arm_key, n, done in series.adherence:
        weekly[labels[arm_key]].append((week, n, done))
    engagement: dict[str, dict[str, list[float]]] = {m: {arm: [] for arm in arms}
                                                     for m in ("minutes", "edits", "effort")}
    for arm_key, minutes, edits, effort in _engagement(session, study):
        for metric, value in (("minutes", minutes), ("edits", edits), ("effort", effort)):
            if value is not None:
                engagement[metric][labels[arm_key]].append(float(value))
    return ReportData(arms=tuple(arms), enrolled=enrolled, strata=strata, weekly=weekly,
                      engagement=engagement, results=doc)


def build_report(session: Session, principal: Principal | None, study_key: str, *,
                 now: datetime | None = None, stale_ok: bool = False) -> TrialReport:
    """The trial report of ``study_key``: design, CONSORT, plots and result tables.

    ``principal`` None is the CLI operator (unblinded); a caller who may not see arms gets
    codes everywhere, the blinded design summary and no free-text withdrawal reasons.
    ``stale_ok`` (the staff results page only; never a downloaded report) accepts the last
    computation of a slow study while a new one is made: the report's ``stale_since`` then
    says when it was computed.
    """
    study = get_study(session, principal, study_key)
    blind = not sees_arms(principal, study)
    explicit = now is not None
    now = now or utcnow()

    def compute(session: Session, study: Study) -> tuple[dict[str, Any], Consort, dict[str, Plot]]:
        # the document comes with the flow and plots drawn from it, so a stale report part
        # shows tables, flow and plots of one moment
        doc = results_of(session, study, blind=blind).value
        labels = _labels(study, blind)
        people = _participants(session, study)
        consort = _consort(session, study, doc, people, labels, blind, now)
        data = _report_data(session, study, doc, labels)
        return doc, consort, report_plots(data, consort)

    # The CONSORT flow and the plots change with the data (stamped) and, for follow-up
    # windows not yet due, with the time: every window closes at a local midnight, which is
    # on a quarter hour in UTC for every zone in use, so the judgement is the same for any
    # moment of one quarter hour (the cached flow keeps the moment it was computed).
    if explicit:
        served = Served(compute(session, study))
    else:
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        served = lookup(session, study, ("report", "blind" if blind else "arms"), compute,
                        valid_for=(quarter.strftime("%Y%m%dT%H%M"),), stale_ok=stale_ok)
    doc, consort, plots = served.value
    definition = (blind_definition(study.definition, arm_codes(study)) if blind
                  else study.definition)
    return TrialReport(
        study_key=study.key, title=study.title, blinded=blind, generated_at=now,
        design=design_summary(definition, status=study.status, version=study.current_version,
                              blinded=blind),
        results=doc, tables=result_tables(doc), consort=consort, plots=plots, stale_since=served.stale_since)
