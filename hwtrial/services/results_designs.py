"""Design-specific results sections: factorial effects, therapist clusters, and the
micro-randomised proximal effect."""

from __future__ import annotations

import string

import pandas as pd

from hwtrial.analysis.adherence import design_matrix
from hwtrial.analysis.clustered import cluster_robust_ols, fit_therapist_model
from hwtrial.analysis.factorial import effect_codes, factorial_outcome
from hwtrial.analysis.mrt import wcls

from .results_context import NotApplicable, ResultsContext, guarded
from .results_logit import factorial_logit
from .results_outcomes import measure_frame, numeric_covariates

#: Below this many participants WCLS uses the Mancl-DeRouen small-sample correction and t
#: inference (Boruvka et al. 2018); above it the plain sandwich is accurate and cheaper.
MRT_SMALL_SAMPLE_BELOW = 100
#: Why blinded callers get no MRT section: decision points exist only for participants of
#: micro-randomised arms (so a blinded export leaves them out, and the section too).
BLINDED_MRT = "blinded: decision points exist only in micro-randomised arms (unblinded callers only)"


def factor_table(ctx: ResultsContext, frame: pd.DataFrame) -> tuple[pd.DataFrame, list, dict]:
    """Add one column per factor, parsed from the cell key ``a=x|b=y`` of each arm.

    Blinded callers get factors named A, B, C and levels 1/2, so no arm is identifiable.
    Returns the frame, the factor column names and the +1 ("high") level of each.
    """
    factors = ctx.definition["factors"]
    names = [f["key"] if not ctx.blinded else string.ascii_uppercase[i]
             for i, f in enumerate(factors)]
    # a blinded bundle's arms carry their blinded cell ({"A": "1", "B": "2"}); keys are codes
    cells = {a["key"]: a.get("cell") or dict(part.split("=", 1) for part in a["key"].split("|"))
             for a in ctx.definition["arms"]}
    high = {}
    for name, f in zip(names, factors, strict=True):
        levels = [str(lv["key"]) for lv in f["levels"]]
        shown = levels if not ctx.blinded else ["1", "2"]
        code = {k: shown[levels.index(cell[f["key"]])] for k, cell in cells.items()}
        frame = frame.assign(**{name: frame["arm_key"].map(code)})
        high[name] = shown[1]  # the study file's second level is coded +1
    return frame, names, high


def _factorial_adherence(ctx: ResultsContext, frame, names, high) -> dict:
    covs = [c for c in ctx.covariates if c in frame.columns]
    data = frame.loc[frame["n_assigned"] > 0].dropna(subset=[*names, *covs])
    base = design_matrix(data, covs)
    effects = effect_codes(data, names, high=high)
    X = pd.concat([base.iloc[:, :1], effects, base.iloc[:, 1:]], axis=1)
    return {"cluster": ["participant_id"], "result": factorial_logit(
        data, X, list(effects.columns), ["participant_id"], ctx.level)}


def factorial(ctx: ResultsContext) -> dict:
    """Effect-coded main effects and interactions on the primary outcome and on adherence."""
    if not ctx.is_factorial:
        raise NotApplicable("not a factorial study")
    frame = ctx.analysed()
    out = {"coding": "effect coding: -1 first level, +1 second level; difference = 2 x beta"}
    frame, names, high = factor_table(ctx, frame)
    out["factors"] = [{"name": n, "high": high[n]} for n in names]
    if ctx.measures:
        m = ctx.measures[0]
        mf, _, _ = factor_table(ctx, measure_frame(ctx, m, ctx.populations[0]))
        covs = [c for c in m.covariates if c in mf.columns]
        out["outcome"] = guarded(lambda: {"measure": m.name, "result": factorial_outcome(
            mf, names, baseline="baseline" if m.baseline_timepoint else None, strata=covs,
            high=high, cov_type=m.robust_se or "classical", level=ctx.level)})
    out["adherence"] = guarded(_factorial_adherence, ctx, frame, names, high)
    return out


def _cluster_sizes(frame: pd.DataFrame) -> list[dict]:
    sizes = frame.groupby(["arm", "cluster"]).size()
    return [{"arm": arm, "clusters": int(s.size), "participants": int(s.sum()),
             "mean_size": float(s.mean()), "min_size": int(s.min()), "max_size": int(s.max())}
            for arm, s in sizes.groupby(level=0)]


def cluster(ctx: ResultsContext) -> dict:
    """ICC from the therapist random-intercept model and cluster-robust OLS (primary)."""
    if not ctx.is_cluster:
        raise NotApplicable("not a cluster-randomised study")
    frame = ctx.analysed()
    out = {"sizes": _cluster_sizes(frame.dropna(subset=["cluster"]))}
    if not ctx.measures:
        return out
    m = ctx.measures[0]
    mf, dummies = numeric_covariates(measure_frame(ctx, m, ctx.populations[0]), m.covariates)
    covs = (["baseline"] if m.baseline_timepoint else []) + dummies
    opts = {"cluster": "cluster", "covariates": covs, "reference": ctx.reference,
            "level": ctx.level}
    out["measure"] = m.name
    out["random_intercept"] = guarded(lambda: {"result": fit_therapist_model(mf, **opts)})
    out["cluster_robust_ols"] = guarded(lambda: {"result": cluster_robust_ols(mf, **opts)})
    return out


def mrt(ctx: ResultsContext) -> dict:
    """WCLS marginal proximal effect of a micro-randomised reminder."""
    if ctx.blinded and len(ctx.definition["arms"]) > 1:  # one arm: nothing to conceal
        raise NotApplicable(BLINDED_MRT)
    if not ctx.is_micro_randomised or ctx.tables.decision_points is None:
        raise NotApplicable("no micro-randomised feature in this study")
    keep = set(ctx.analysed()["participant_id"])
    dps = ctx.tables.decision_points
    dps = dps.loc[dps["participant_id"].isin(keep)]
    if dps.empty or not dps["available"].any():
        raise ValueError("no available decision points yet")
    n = dps["participant_id"].nunique()
    # Time in study (day) as a control, as the WCLS literature does: only when it varies and
    # every point has it (points logged before the day was recorded have none).
    days = dps.loc[dps["available"].astype(bool), "study_day"]
    controls = ["study_day"] if days.notna().all() and days.nunique() > 1 else []
    result = wcls(dps, controls=controls, small_sample=n < MRT_SMALL_SAMPLE_BELOW, level=ctx.level)
    window = ctx.proximal_window_hours
    # the decision log's delivery: treated points whose reminder went out, was acknowledged
    # by its channel (SMTP accepted / webhook 2xx) and was clicked
    delivery = {key: int(dps[key].sum()) for key in ("sent", "delivered", "clicked") if key in dps}
    return {"proximal_outcome": f"homework submitted within {window:g} hours of the decision point",
            "controls": controls, "n_decision_points": len(dps),
            "n_treated": int(dps["treated"].sum()), "reminders": delivery, "result": result}
