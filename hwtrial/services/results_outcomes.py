"""The outcomes section: the pre-specified ANCOVA per population, Hedges' g, missing data
and differential dropout, repeated measures, and the pre-specified multiplicity adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwtrial.analysis.adherence import design_matrix
from hwtrial.analysis.counts import arm_summaries
from hwtrial.analysis.multiplicity import adjust_pvalues, dunnett
from hwtrial.analysis.outcomes import ancova, hedges_g, missing_by_arm

from .results_context import Measure, NotApplicable, ResultsContext, compared, guarded
from .results_lmm import fit_profiled

#: Study-file multiplicity names → hwtrial.analysis.multiplicity method names.
ADJUSTMENTS = {"holm": "holm", "hochberg": "hochberg", "bonferroni": "bonferroni", "bh": "BH"}


def measure_frame(ctx: ResultsContext, m: Measure, population: str) -> pd.DataFrame:
    """Participants of ``population`` with ``baseline`` and ``followup`` of measure ``m``."""
    frame = ctx.analysed(population)
    return frame.assign(followup=ctx.score(frame, m.instrument, m.timepoint),
                        baseline=ctx.score(frame, m.instrument, m.baseline_timepoint))


def numeric_covariates(frame: pd.DataFrame, covariates) -> tuple[pd.DataFrame, list[str]]:
    """Treatment-coded dummy columns (``site[south]``) for models that take numbers only."""
    covariates = [c for c in covariates if c in frame.columns]
    if not covariates:
        return frame, []
    frame = frame.dropna(subset=covariates)
    dummies = design_matrix(frame, covariates).iloc[:, 1:]
    return pd.concat([frame, dummies], axis=1), list(dummies.columns)


def _effect_sizes(ctx: ResultsContext, frame: pd.DataFrame) -> list[dict]:
    ref = frame.loc[frame["arm"] == ctx.reference, "followup"]
    return [compared(arm, ctx.reference, lambda arm=arm: {"result": hedges_g(
        frame.loc[frame["arm"] == arm, "followup"], ref, level=ctx.level)})
        for arm in ctx.arm_order[1:]]


def _population(ctx: ResultsContext, m: Measure, population: str) -> dict:
    frame = measure_frame(ctx, m, population)
    baseline = "baseline" if m.baseline_timepoint else None
    covs = [c for c in m.covariates if c in frame.columns]
    return {
        "arm_means": guarded(lambda: {"result": arm_summaries(frame, outcome="followup",
                                                              level=ctx.level)}),
        "ancova": guarded(lambda: {"adjusted_for": [*([baseline] if baseline else []), *covs],
                                   "result": ancova(frame, baseline=baseline, strata=covs,
                                                    reference=ctx.reference,
                                                    cov_type=m.robust_se or "classical",
                                                    level=ctx.level)}),
        "hedges_g": guarded(lambda: {"result": _effect_sizes(ctx, frame)}),
    }


def _post_baseline_days(ctx: ResultsContext, m: Measure) -> dict[str, int]:
    points = ctx.definition["questionnaires"]["timepoints"]
    days = {t["key"]: int(t["day"]) for t in points if m.instrument in t["instruments"]}
    start = days.get(m.baseline_timepoint, -1)
    return {k: d for k, d in days.items() if d > start}


def repeated_measures(ctx: ResultsContext, m: Measure) -> dict:
    """LMM ``score ~ arm * day + baseline + (1 | participant)`` over post-baseline visits."""
    days = _post_baseline_days(ctx, m)
    if len(days) < 2:
        raise NotApplicable("fewer than two post-baseline timepoints for this instrument")
    frame = ctx.analysed(ctx.populations[0])
    frame = frame.assign(baseline=ctx.score(frame, m.instrument, m.baseline_timepoint))
    long = pd.concat([frame.assign(day=d, outcome=ctx.score(frame, m.instrument, k))
                      for k, d in days.items()], ignore_index=True)
    covs = ["baseline"] if m.baseline_timepoint else []
    result = fit_profiled(long, time="day", covariates=covs, reference=ctx.reference,
                          level=ctx.level)
    return {"timepoints": days, "result": result}


def measure(ctx: ResultsContext, m: Measure) -> dict:
    """Everything reported for one pre-specified outcome measure."""
    itt = measure_frame(ctx, m, "itt")
    out = {"role": m.role, "instrument": m.instrument, "timepoint": m.timepoint,
           "baseline_timepoint": m.baseline_timepoint, "model": m.model,
           "robust_se": m.robust_se,
           "populations": {p: _population(ctx, m, p) for p in ctx.populations},
           "missing": guarded(lambda: {"result": missing_by_arm(itt)}),
           "repeated_measures": guarded(repeated_measures, ctx, m)}
    return out


def _family(ctx: ResultsContext, measures: list[dict]) -> list[dict]:
    """Arm effects of the first population's ANCOVA of every measure: the tested family."""
    pop = ctx.populations[0]
    rows = []
    for m in measures:
        fit = m["populations"][pop]["ancova"]
        for eff in fit.get("result").effects if fit["status"] == "ok" else ():
            rows.append({"measure": f"{m['instrument']}@{m['timepoint']}", "role": m["role"],
                         "effect": eff.name, "p_value": eff.p_value})
    return rows


def multiplicity(ctx: ResultsContext, measures: list[dict]) -> dict:
    """The plan's adjustment over primary and secondary arm effects (or Dunnett)."""
    method = ctx.analysis.get("multiplicity") or "none"
    if method == "none":
        raise NotApplicable("the analysis plan pre-specifies no multiplicity adjustment")
    if method == "dunnett":
        frame = measure_frame(ctx, ctx.measures[0], ctx.populations[0]).dropna(
            subset=["followup"])
        samples = {a: frame.loc[frame["arm"] == a, "followup"].to_numpy()
                   for a in ctx.arm_order}
        # seeded: the multivariate-t integration is randomised (about 1e-4 error)
        return {"method": "dunnett", "measure": ctx.measures[0].name,
                "result": dunnett(samples, ctx.reference, level=ctx.level, rng=0)}
    family = _family(ctx, measures)
    adjusted = adjust_pvalues([r["p_value"] for r in family], ADJUSTMENTS[method])
    for row, p in zip(family, adjusted, strict=True):
        row["p_adjusted"] = float(p) if np.isfinite(p) else None
    return {"method": method, "population": ctx.populations[0], "family": family}


def outcomes(ctx: ResultsContext) -> dict:
    """Primary and secondary outcome analyses with the multiplicity adjustment."""
    if not ctx.measures:
        raise NotApplicable("the study defines no primary outcome (no analysis section)")
    measures = [measure(ctx, m) for m in ctx.measures]
    return {"measures": measures, "multiplicity": guarded(multiplicity, ctx, measures)}
