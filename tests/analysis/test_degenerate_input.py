"""Degenerate early-trial inputs raise ValueError with a message, never a warning or NaN.

The results service reports a ValueError as ``not_estimable`` with its message; a numpy
or statsmodels warning would only say "Mean of empty slice" or "invalid value".
(pytest turns warnings into errors, so a warning here fails the ``raises(ValueError)``.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hwtrial.analysis.adherence import wald_estimates
from hwtrial.analysis.outcomes import fit_ols, hedges_g
from hwtrial.analysis.srm import outcome_srm
from hwtrial.analysis.twosample import welch_from_stats
from hwtrial.services.results_logit import grouped_logit
from hwtrial.services.results_sections import poisson_dispersion


@pytest.mark.parametrize("a,b", [([], [1.0, 2.0]), ([1.0, 2.0], [3.0]),
                                 ([np.nan, 1.0], [1.0, 2.0])])
def test_hedges_g_needs_two_values_per_group(a, b):
    with pytest.raises(ValueError, match="at least 2 non-missing values"):
        hedges_g(a, b)


def test_welch_refuses_two_constant_groups():
    with pytest.raises(ValueError, match="zero variance"):
        welch_from_stats(3, 0.0, 0.0, 4, 0.0, 0.0)
    # one constant group is fine: the other carries the standard error
    assert welch_from_stats(3, 0.0, 0.0, 4, 1.0, 2.0).difference.se > 0


def test_ols_refuses_rank_deficient_and_saturated_designs():
    X = pd.DataFrame({"const": 1.0, "arm[B]": [0.0, 0.0, 0.0, 0.0]})
    with pytest.raises(ValueError, match="rank-deficient"):
        fit_ols(np.array([1.0, 2.0, 3.0, 4.0]), X, "classical")
    with pytest.raises(ValueError, match="2 complete cases for 2 model terms"):
        fit_ols(np.array([1.0, 2.0]), pd.DataFrame({"const": 1.0, "x": [0.0, 1.0]}), "HC1")


def test_outcome_srm_with_one_arm_says_so():
    frame = pd.DataFrame({"arm": ["A", "A"], "followup": [1.0, np.nan]})
    with pytest.raises(ValueError, match="at least two arms, got 1"):
        outcome_srm(frame, {"A": 1.0, "B": 1.0})


def test_wald_estimates_refuse_a_non_positive_variance():
    with pytest.raises(ValueError, match="variance for arm\\[B\\]"):
        wald_estimates(["const", "arm[B]"], np.array([0.1, 0.2]),
                       np.diag([0.5, -1e-3]), 0.95, 10, "logit")


def test_dispersion_needs_more_participants_than_arms():
    with pytest.raises(ValueError, match="more participants than arms"):
        poisson_dispersion([1, 2], [3, 3], ["A", "B"])


def test_grouped_logit_refuses_all_completed_and_too_few_rows():
    X = pd.DataFrame({"const": 1.0, "arm[B]": [0.0, 0.0, 1.0, 1.0]})
    with pytest.raises(ValueError, match="all or none completed"):
        grouped_logit([3, 2, 4, 1], [3, 2, 4, 1], X, None)
    with pytest.raises(ValueError, match="2 participants with closed homework for 2"):
        grouped_logit([1, 2], [3, 3], X.iloc[1:3], None)
