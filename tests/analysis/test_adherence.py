"""hwtrial.analysis.adherence against R glm + sandwich::vcovCL (tests/reference/adherence.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.adherence import (
    adherence_model,
    completion_by_arm,
    participant_adherence,
)

HERE = Path(__file__).parents[1] / "reference"
REF = json.loads((HERE / "adherence.json").read_text())
DATA = pd.read_csv(HERE / "adherence.csv")
NAMES = {"(Intercept)": "Intercept", "armremind": "arm[remind]", "armreview": "arm[review]",
         "sites2": "site[s2]"}


def test_pooled_completion_matches_prop_test():
    for row in completion_by_arm(DATA):
        ref = REF["pooled"][row.arm]
        assert row.n_instances == ref["n"]
        np.testing.assert_allclose(
            [row.completion.estimate, row.completion.ci_low, row.completion.ci_high,
             row.on_time.estimate, row.on_time.ci_low, row.on_time.ci_high],
            [ref["completion"], *ref["completion_ci"], ref["on_time"], *ref["on_time_ci"]],
            rtol=1e-6)


def test_participant_level_matches_r():
    for row in participant_adherence(DATA):
        ref = REF["participant"][row.arm]
        assert row.n_participants == ref["n"]
        np.testing.assert_allclose([row.mean, row.sd, row.median, row.q1, row.q3],
                                   [ref[k] for k in ("mean", "sd", "median", "q1", "q3")],
                                   rtol=1e-9)


@pytest.mark.parametrize("key,cluster", [
    ("model", None),
    ("participant", ("participant_id",)),
    ("two_way", ("participant_id", "therapist_id")),
])
def test_model_matches_r(key, cluster):
    res = adherence_model(DATA, strata=["site"], cluster=cluster)
    ref = REF["models"][key]
    assert [c.name for c in res.coefficients] == [NAMES[n] for n in ref["names"]]
    # both fits converge to 1e-12+ (glm epsilon=1e-14), so 1e-6 is comfortably met
    np.testing.assert_allclose([c.estimate for c in res.coefficients], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose([c.se for c in res.coefficients], ref["se"], rtol=1e-6)
    np.testing.assert_allclose([c.p_value for c in res.coefficients], ref["p_value"], rtol=1e-6)
    ors = {o.name: o for o in res.odds_ratios}
    for i, name in enumerate(ref["names"]):
        if name.startswith("arm"):
            o = ors[NAMES[name]]
            np.testing.assert_allclose([o.estimate, o.ci_low, o.ci_high],
                                       [ref["or"][i], ref["or_low"][i], ref["or_high"][i]],
                                       rtol=1e-6)
    assert res.reference_arm == "control"


def test_cluster_correction_matches_statsmodels_default():
    import statsmodels.api as sm

    res = adherence_model(DATA, strata=["site"])
    X = pd.get_dummies(DATA[["arm", "site"]], drop_first=True, dtype=float)
    X.insert(0, "const", 1.0)
    groups = pd.factorize(DATA["participant_id"])[0]
    sm_fit = sm.GLM(DATA["completed"], X, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-12)
    np.testing.assert_allclose([c.se for c in res.coefficients], sm_fit.bse, rtol=1e-6)


def test_missing_column_named():
    with pytest.raises(ValueError, match="therapist"):
        adherence_model(DATA.drop(columns="therapist_id"), cluster=("therapist_id",))


def test_bad_reference_named():
    with pytest.raises(ValueError, match="reference"):
        adherence_model(DATA, reference="nope")


def test_design_matrix_on_no_rows_names_the_problem():
    import pandas as pd
    import pytest

    from hwtrial.analysis.adherence import design_matrix

    with pytest.raises(ValueError, match="no observations"):
        design_matrix(pd.DataFrame({"arm": []}), ["arm"])
