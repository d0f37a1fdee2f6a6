"""Results sections on participant flow, balance and homework: flow, SRM, baseline,
adherence and engagement. Each builder takes a :class:`ResultsContext` and returns a dict
of plain values and result objects (serialised by ``hwtrial.analysis.results.to_dict``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwtrial.analysis.adherence import ArmCompletion, design_matrix, participant_adherence
from hwtrial.analysis.counts import arm_summaries, negative_binomial
from hwtrial.analysis.descriptive import arm_flow, baseline_table
from hwtrial.analysis.proportions import proportion, proportions_from_counts
from hwtrial.analysis.srm import allocation_srm, outcome_srm, srm_check
from hwtrial.analysis.twosample import welch_from_stats

from .results_context import NotApplicable, ResultsContext, compared, guarded
from .results_logit import adherence_logit

#: Engagement metrics per participant: (column, whether it is a count for the NB model).
ENGAGEMENT = (("active_minutes", False), ("edits", True), ("words", True),
              ("self_review_depth", False), ("n_events", True))
#: Metrics blinded callers do not get (self-review is a feature of some arms only, so its
#: depth tells arms apart; a blinded export leaves the column out). Blinded ``n_events``
#: counts only event types every arm produces (:data:`hwtrial.exports.tables.ARM_EVENT_TYPES`
#: are left out of the query, as from a blinded export).
BLINDED_METRICS = {"self_review_depth": "blinded: self-review depth tells arms apart (unblinded callers only)"}


def flow(ctx: ResultsContext) -> dict:
    """CONSORT-style numbers per arm: randomised, withdrawn, data-excluded, analysed."""
    p = ctx.people.assign(itt=~ctx.people["exclude_data"])
    p["per_protocol_set"] = p["itt"] & p["per_protocol"]
    itt = {f.arm: f for f in arm_flow(p, analysed="itt")}
    pp = {f.arm: f for f in arm_flow(p, analysed="per_protocol_set")}
    rows = []
    for arm in ctx.arm_order:
        g = p.loc[p["arm"] == arm]
        rows.append({
            "arm": arm, "randomised": len(g),
            "withdrawn": int((g["status"] == "withdrawn").sum()),
            "data_excluded": int(g["exclude_data"].sum()),
            "analysed_itt": itt[arm].analysed if arm in itt else 0,
            "analysed_per_protocol": pp[arm].analysed if arm in pp else 0,
        })
    return {"arms": rows, "total_randomised": len(p)}


def srm(ctx: ResultsContext) -> dict:
    """Allocation counts (clusters in a cluster study) and outcome completion vs the ratio."""
    if len(ctx.arm_order) < 2:
        raise NotApplicable("a single-arm study has no allocation ratio to check")
    if ctx.is_cluster:
        counts = {ctx.labels.get(k, k): n for k, n in ctx.tables.clusters.items()}
        full = {a: counts.get(a, 0) for a in ctx.arm_order}
        allocation, unit = srm_check(full, ctx.ratios), "cluster"
    else:
        allocation, unit = allocation_srm(ctx.people, ctx.ratios), "participant"
    out = {"unit": unit, "allocation": allocation}
    if ctx.measures:
        m = ctx.measures[0]
        frame = ctx.analysed("itt")
        frame = frame.assign(followup=ctx.score(frame, m.instrument, m.timepoint))
        out["outcome_completion"] = guarded(
            lambda: {"measure": m.name, "result": outcome_srm(frame, ctx.ratios)})
    return out


def baseline(ctx: ResultsContext) -> dict:
    """Baseline table of the ITT set: strata/cluster covariates and baseline scores."""
    frame = ctx.analysed("itt").copy()
    variables = list(ctx.covariate_keys)
    categorical = list(variables)
    for m in ctx.measures:
        name = f"{m.instrument}@{m.baseline_timepoint}"
        if m.baseline_timepoint and name not in variables:
            frame[name] = ctx.score(frame, m.instrument, m.baseline_timepoint)
            variables.append(name)
    if not variables:
        raise NotApplicable("the study records no baseline variables")
    return {"rows": baseline_table(frame, variables, categorical=categorical)}


def _arm_completion(arm: str, g: pd.DataFrame, level: float) -> ArmCompletion:
    n = int(g["n_assigned"].sum())
    return ArmCompletion(arm, n, proportion(int(g["n_completed"].sum()), n, level, "completion"),
                         proportion(int(g["n_on_time"].sum()), n, level, "on_time"))


def _completion_comparison(sums: pd.DataFrame, arm: str, ref: str, level: float) -> dict:
    for name in (ref, arm):
        if name not in sums.index:
            role = "the reference arm" if name == ref else "arm"
            raise ValueError(f"{role} {name} has no closed homework instances yet")
    row, base = sums.loc[arm], sums.loc[ref]
    return {"completion": proportions_from_counts(row.n_completed, row.n_assigned,
                                                  base.n_completed, base.n_assigned, level=level),
            "on_time": proportions_from_counts(row.n_on_time, row.n_assigned,
                                               base.n_on_time, base.n_assigned, level=level)}


def _comparisons(ctx: ResultsContext, d: pd.DataFrame) -> list[dict]:
    """Every arm vs the reference; one without closed homework on either side is not estimable."""
    sums = d.groupby("arm")[["n_assigned", "n_completed", "n_on_time"]].sum()
    return [compared(arm, ctx.reference, _completion_comparison, sums, arm, ctx.reference,
                     ctx.level) for arm in ctx.arm_order[1:]]


def _models(ctx: ResultsContext, d: pd.DataFrame) -> list[dict]:
    covs = [c for c in ctx.covariates if c in d.columns]
    data = d.dropna(subset=covs)
    ways = [["participant_id"]] + ([["participant_id", "cluster"]] if ctx.is_cluster else [])

    def fit(c: list[str]) -> dict:
        # inside the guard: without data in the reference arm the design has no reference level
        X = design_matrix(data, ["arm", *covs], reference={"arm": ctx.reference})
        return {"cluster": c, "adjusted_for": covs,
                "result": adherence_logit(data, X, c, "arm", ctx.reference, ctx.level)}

    return [guarded(fit, c) for c in ways]


def adherence(ctx: ResultsContext) -> dict:
    """Completion and on-time submission of closed homework instances, per arm and compared."""
    d = ctx.analysed()
    d = d.loc[d["n_assigned"] > 0]
    if d.empty:
        raise ValueError("no closed homework instances yet")
    by_arm = [_arm_completion(a, d.loc[d["arm"] == a], ctx.level)
              for a in ctx.arm_order if (d["arm"] == a).any()]
    rates = participant_adherence(d.assign(completed=d["adherence_rate"]))
    out = {"population": ctx.populations[0], "unit": "closed homework instance",
           "by_arm": by_arm, "participant_rates": rates}
    if len(ctx.arm_order) > 1:
        out["comparisons"] = _comparisons(ctx, d)
        out["models"] = _models(ctx, d)
    return out


def _welch(ctx: ResultsContext, data: pd.DataFrame, metric: str) -> list[dict]:
    ref = data.loc[data["arm"] == ctx.reference, metric]

    def one(x: pd.Series) -> dict:
        return {"result": welch_from_stats(len(x), x.mean(), x.var(ddof=1), len(ref),
                                           ref.mean(), ref.var(ddof=1), level=ctx.level)}

    return [compared(arm, ctx.reference, one, data.loc[data["arm"] == arm, metric])
            for arm in ctx.arm_order[1:]]


def poisson_dispersion(counts, exposure, groups) -> float:
    """Pearson chi2 / df of the Poisson GLM ``count ~ group`` with offset ``log(exposure)``.

    With one indicator per group the maximum-likelihood fit is closed-form: each row's
    mean is its exposure times its group's pooled rate ``sum(count) / sum(exposure)``
    (the same optimum statsmodels' IRLS iterates to, without the iterations).
    """
    y = np.asarray(counts, dtype=float)
    t = np.asarray(exposure, dtype=float)
    codes, levels = pd.factorize(np.asarray(groups))
    if len(y) <= len(levels):
        raise ValueError(f"{len(y)} participants with homework for {len(levels)} arms; "
                         "the dispersion check needs more participants than arms")
    rate = np.bincount(codes, y) / np.bincount(codes, t)
    if np.any(rate == 0):
        raise ValueError("a group has no events; the Poisson fit is on the boundary")
    mu = t * rate[codes]
    return float(np.sum((y - mu) ** 2 / mu) / (len(y) - len(levels)))


def _overdispersed(data: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Refuse NB when a Poisson fit shows no overdispersion (Pearson chi2/df <= 1).

    There the NB2 maximum lies at theta = infinity (the Poisson boundary): the Newton fit
    runs to its iteration limit (about 10 s at 100,000 participants) and then fails.
    """
    ratio = poisson_dispersion(data[metric], data["n_assigned"], data["arm"])
    if ratio <= 1.0:
        raise ValueError(f"no overdispersion in {metric} (Pearson chi2/df = "
                         f"{ratio:.3f}); NB2 reduces to Poisson")
    return data


def _metric(ctx: ResultsContext, d: pd.DataFrame, metric: str, count: bool) -> dict:
    data = d.dropna(subset=[metric])
    out = {"by_arm": guarded(lambda: {"result": arm_summaries(data, outcome=metric,
                                                              level=ctx.level)})}
    if len(ctx.arm_order) > 1:
        out["differences"] = guarded(lambda: {"result": _welch(ctx, data, metric)})
        if count:
            exposed = data.loc[data["n_assigned"] > 0]
            out["negative_binomial"] = guarded(lambda: {
                "exposure": "n_assigned", "result": negative_binomial(
                    _overdispersed(exposed, metric), outcome=metric, exposure="n_assigned", reference=ctx.reference,
                    level=ctx.level)})
    return out


def engagement(ctx: ResultsContext) -> dict:
    """Per-participant engagement totals per arm; counts also by negative binomial."""
    d = ctx.analysed()
    return {"population": ctx.populations[0],
            "unit": "participant (totals over closed homework instances)",
            "metrics": {m: {"by_arm": {"status": "not_applicable", "reason": BLINDED_METRICS[m]}}
                        if ctx.blinded and m in BLINDED_METRICS else _metric(ctx, d, m, count)
                        for m, count in ENGAGEMENT}}
