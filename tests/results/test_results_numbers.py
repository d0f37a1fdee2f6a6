"""The API's numbers equal the pure analysis functions applied to the raw rows.

Expected values are computed here from the factory's generated rows with plain pandas and
``hwtrial.analysis`` (instance-level where the analysis is instance-level), never through
the results service's SQL; the service's per-participant aggregation must reproduce them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.adherence import adherence_model, completion_by_arm
from hwtrial.analysis.clustered import cluster_robust_ols
from hwtrial.analysis.counts import negative_binomial
from hwtrial.analysis.descriptive import arm_flow
from hwtrial.analysis.factorial import factorial_outcome
from hwtrial.analysis.mixed import fit_repeated_measures
from hwtrial.analysis.mrt import wcls
from hwtrial.analysis.multiplicity import adjust_pvalues
from hwtrial.analysis.outcomes import ancova, missing_by_arm
from hwtrial.analysis.proportions import proportions_from_counts
from hwtrial.analysis.results import to_dict
from hwtrial.analysis.srm import allocation_srm

from . import raw

RTOL = 1e-8


def close(got, want, rtol=RTOL):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


def estimates(items, keys=("estimate", "se", "ci_low", "ci_high", "p_value")):
    return [[np.nan if e[k] is None else e[k] for k in keys] for e in items]


@pytest.fixture
def results(client, make_user, bearer):
    _, token = make_user("admin")

    def get(key, **query):
        r = client.get(f"/api/v1/studies/{key}/results", query_string=query,
                       headers=bearer(token))
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    return get


@pytest.fixture
def rct(make_trial, results):
    data = make_trial("reminder-rct", n=240, seed=11)
    return data, results("reminder-rct")


def test_flow_and_allocation_srm_match_raw_rows(rct):
    data, doc = rct
    frame = raw.people(data)
    flows = {f.arm: f for f in arm_flow(frame.assign(itt=~frame["exclude_data"]), analysed="itt")}
    for row in doc["sections"]["flow"]["arms"]:
        g = frame.loc[frame["arm"] == row["arm"]]
        assert row["randomised"] == flows[row["arm"]].randomised == len(g)
        assert row["analysed_itt"] == flows[row["arm"]].analysed
        assert row["withdrawn"] == int((g["status"] == "withdrawn").sum()) > 0
        assert row["data_excluded"] == int(g["exclude_data"].sum())
    want = to_dict(allocation_srm(frame, {"control": 1, "reminders": 1}))
    assert doc["sections"]["srm"]["allocation"] == want


def test_adherence_equals_instance_level_functions(rct):
    data, doc = rct
    sec = doc["sections"]["adherence"]
    inst = raw.instances(data, raw.analysed(data))
    for got, want in zip(sec["by_arm"], completion_by_arm(inst), strict=True):
        assert got == to_dict(want)
    sums = inst.groupby("arm")[["completed", "on_time"]].sum()
    n = inst.groupby("arm").size()
    want = proportions_from_counts(sums.loc["reminders", "completed"], n["reminders"],
                                   sums.loc["control", "completed"], n["control"])
    got = sec["comparisons"][0]["completion"]
    assert got["risk_difference"] == to_dict(want.risk_difference)
    assert got["nnt"] == to_dict(want.nnt)
    close(estimates([got["odds_ratio"], got["risk_ratio"]]),
          estimates([to_dict(want.odds_ratio), to_dict(want.risk_ratio)]))


def test_adherence_model_on_participant_counts_equals_instance_level_model(rct):
    data, doc = rct
    model = doc["sections"]["adherence"]["models"][0]
    assert model["status"] == "ok" and model["cluster"] == ["participant_id"]
    frame = raw.analysed(data)
    inst = raw.instances(data, frame).merge(frame[["participant_id", "site", "severity"]])
    want = adherence_model(inst, strata=["site", "severity"], reference="control")
    got = model["result"]
    assert [c["name"] for c in got["coefficients"]] == [c.name for c in want.coefficients]
    close(estimates(got["coefficients"]), estimates(to_dict(list(want.coefficients))), 1e-6)
    close(estimates(got["odds_ratios"]), estimates(to_dict(list(want.odds_ratios))), 1e-6)
    assert got["n_instances"] == want.n_instances


def test_engagement_counts_equal_negative_binomial_on_raw_sums(rct):
    data, doc = rct
    frame = raw.analysed(data)
    inst = raw.instances(data, frame)
    per = inst.groupby("participant_id").agg(edits=("edits", lambda s: s.sum(min_count=1)),
                                             n_assigned=("completed", "size"))
    table = frame.merge(per.reset_index()).dropna(subset=["edits"])
    want = negative_binomial(table, outcome="edits", exposure="n_assigned", reference="control")
    got = doc["sections"]["engagement"]["metrics"]["edits"]["negative_binomial"]["result"]
    close(estimates(got["rate_ratios"]), estimates(to_dict(list(want.rate_ratios))), 1e-6)


def _outcome_frame(data, population="itt"):
    frame = raw.analysed(data)
    frame["baseline"] = raw.scores(data, frame, "phq9", "baseline")
    frame["followup"] = raw.scores(data, frame, "phq9", "week8")
    if population == "per_protocol":
        frame = frame.loc[raw.per_protocol(data, frame, 0.5)]
    return frame


@pytest.mark.parametrize("population", ["itt", "per_protocol"])
def test_primary_ancova_equals_ancova_on_raw_scores(rct, population):
    data, doc = rct
    frame = _outcome_frame(data, population)
    want = ancova(frame, strata=["site", "severity"], reference="control", cov_type="HC3")
    measure = doc["sections"]["outcomes"]["measures"][0]
    got = measure["populations"][population]["ancova"]["result"]
    assert got["n"] == want.n
    close(estimates(got["coefficients"]), estimates(to_dict(list(want.coefficients))))
    if population == "itt":
        assert measure["missing"]["result"] == to_dict(missing_by_arm(frame))


def test_itt_and_per_protocol_differ_as_defined(rct):
    data, doc = rct
    pops = doc["sections"]["outcomes"]["measures"][0]["populations"]
    itt, pp = (pops[p]["ancova"]["result"] for p in ("itt", "per_protocol"))
    assert pp["n"] < itt["n"]
    assert pp["effects"][0]["estimate"] != itt["effects"][0]["estimate"]
    flow = {r["arm"]: r for r in doc["sections"]["flow"]["arms"]}
    frame = raw.analysed(data)
    pp_set = frame.loc[raw.per_protocol(data, frame, 0.5)]
    assert {a: flow[a]["analysed_per_protocol"] for a in flow} == pp_set["arm"].value_counts().to_dict()


def test_holm_adjusts_primary_and_secondary_family(rct):
    _, doc = rct
    mult = doc["sections"]["outcomes"]["multiplicity"]
    assert mult["method"] == "holm" and len(mult["family"]) == 2
    close([r["p_adjusted"] for r in mult["family"]],
          adjust_pvalues([r["p_value"] for r in mult["family"]], "holm"))


def test_factorial_outcome_equals_effect_coded_model(make_trial, results):
    data = make_trial("factorial-screening", n=240, seed=5)
    doc = results("factorial-screening")
    frame = _outcome_frame(data)
    cells = frame["arm"].str.split("|").map(lambda parts: dict(p.split("=") for p in parts))
    for f in ("reminders", "self_review", "framing"):
        frame[f] = cells.map(lambda c, f=f: c[f])
    want = factorial_outcome(frame, ["reminders", "self_review", "framing"],
                             strata=["severity", "prior_therapy"], cov_type="HC2",
                             high={"reminders": "on", "self_review": "on", "framing": "community"})
    got = doc["sections"]["factorial"]["outcome"]["result"]
    close(estimates(got["effects"]), estimates(to_dict(list(want.effects))))


def test_cluster_robust_ols_equals_raw_computation(make_trial, results):
    data = make_trial("therapist-cluster", n=160, seed=7, n_clusters=10)
    doc = results("therapist-cluster")
    frame = raw.analysed(data)
    frame["baseline"] = raw.scores(data, frame, "gad7", "baseline")
    frame["followup"] = raw.scores(data, frame, "gad7", "week12")
    dummies = pd.get_dummies(frame[["service", "experience"]], prefix_sep="[", dtype=float)
    dummies.columns = [c + "]" for c in dummies.columns]
    drop = ["service[city_clinic]", "experience[over_5y]"]  # first sorted level = reference
    frame = pd.concat([frame, dummies.drop(columns=drop)], axis=1)
    covs = ["baseline", "service[county_clinic]", "service[university_clinic]",
            "experience[under_5y]"]
    want = cluster_robust_ols(frame, cluster="cluster", covariates=covs, reference="usual")
    got = doc["sections"]["cluster"]["cluster_robust_ols"]["result"]
    close(estimates(got["coefficients"]), estimates(to_dict(list(want.coefficients))))
    assert doc["sections"]["cluster"]["random_intercept"]["status"] in ("ok", "not_estimable")


def test_mrt_wcls_equals_raw_proximal_outcome(make_trial, results):
    data = make_trial("mrt-reminders", n=60, seed=9)
    doc = results("mrt-reminders")
    keep = set(raw.analysed(data)["participant_id"])
    submitted = {}
    for i in data.instances:
        if i["submitted_at"] is not None:
            submitted.setdefault(i["participant_id"], []).append(i["submitted_at"])
    rows = []
    for d in data.decision_points:
        if d["participant_id"] in keep:
            t = d["decided_at"]
            hit = any(t < s <= t + pd.Timedelta(hours=2) for s in submitted.get(d["participant_id"], []))
            rows.append({"participant_id": d["participant_id"], "available": int(d["available"]),
                         "probability": d["probability"], "treated": int(bool(d["treated"])),
                         "outcome": int(hit)})
    want = wcls(pd.DataFrame(rows), small_sample=True)
    got = doc["sections"]["mrt"]["result"]
    assert got["n_available"] == want.n_available
    close(estimates(got["effects"]), estimates(to_dict(list(want.effects))))


def test_repeated_measures_equal_checked_statsmodels_fit(rct):
    data, doc = rct
    frame = raw.analysed(data)
    frame["baseline"] = raw.scores(data, frame, "phq9", "baseline")
    long = pd.concat([frame.assign(day=day, outcome=raw.scores(data, frame, "phq9", tp))
                      for tp, day in (("week4", 28), ("week8", 56))], ignore_index=True)
    want = fit_repeated_measures(long, time="day", covariates=["baseline"],
                                 time_categorical=True, reference="control")
    got = doc["sections"]["outcomes"]["measures"][0]["repeated_measures"]["result"]
    assert [e["name"] for e in got["fixed"]] == [e.name for e in want.fixed]
    close(estimates(got["fixed"]), estimates(to_dict(list(want.fixed))), 1e-5)
    close([got["group_variance"], got["residual_variance"], got["criterion"]],
          [want.group_variance, want.residual_variance, want.criterion], 1e-5)


def test_two_way_clustered_adherence_equals_instance_level_model(make_trial, results):
    data = make_trial("therapist-cluster", n=160, seed=3, n_clusters=10)
    doc = results("therapist-cluster")
    model = doc["sections"]["adherence"]["models"][1]
    assert model["cluster"] == ["participant_id", "cluster"]
    frame = raw.analysed(data)
    inst = raw.instances(data, frame).merge(frame[["participant_id", "cluster", "service",
                                                   "experience"]])
    want = adherence_model(inst, strata=["service", "experience"],
                           cluster=("participant_id", "cluster"), reference="usual")
    close(estimates(model["result"]["coefficients"]), estimates(to_dict(list(want.coefficients))),
          1e-6)


def test_negative_binomial_refused_without_overdispersion():
    from hwtrial.services.results_context import guarded
    from hwtrial.services.results_sections import _overdispersed

    rng = np.random.default_rng(0)
    n = rng.integers(1, 8, 400)
    frame = pd.DataFrame({"arm": rng.choice(["a", "b"], 400), "n_assigned": n,
                          "edits": rng.poisson(3.0 * n)})
    out = guarded(lambda: {"result": _overdispersed(frame, "edits")})
    assert out["status"] == "not_estimable" and "no overdispersion" in out["reason"]
    frame["edits"] = rng.negative_binomial(1, 1 / (1 + 3.0 * n))
    assert guarded(lambda: {"result": _overdispersed(frame, "edits")})["status"] == "ok"
