"""Pure statistical core of hwtrial: numpy/scipy/statsmodels/pandas only, no Flask or SQL.

Every function takes plain tables (documented column names) or sufficient statistics and
returns frozen result objects built on :class:`~hwtrial.analysis.results.Estimate`.
"""

from hwtrial.analysis.adherence import (
    AdherenceModel,
    ArmCompletion,
    ParticipantAdherence,
    adherence_model,
    clustered_vcov,
    completion_by_arm,
    participant_adherence,
)
from hwtrial.analysis.descriptive import ArmFlow, BaselineRow, arm_flow, baseline_table
from hwtrial.analysis.factorial import (
    FactorialResult,
    effect_codes,
    factorial_adherence,
    factorial_outcome,
)
from hwtrial.analysis.multiplicity import DunnettResult, adjust_pvalues, dunnett
from hwtrial.analysis.outcomes import (
    AncovaResult,
    ArmMissing,
    MissingSummary,
    ancova,
    hedges_g,
    hedges_g_from_stats,
    missing_by_arm,
    population_mask,
    select_population,
)
from hwtrial.analysis.power import (
    FactorialPowerResult,
    PowerResult,
    power_factorial,
    power_means,
    power_proportions,
)
from hwtrial.analysis.proportions import (
    TwoProportionResult,
    TwoProportionTest,
    number_needed_to_treat,
    odds_ratio,
    proportion,
    proportions_from_counts,
    risk_difference,
    risk_ratio,
    two_proportion_test,
    wilson_ci,
)
from hwtrial.analysis.results import Estimate, check_level, to_dict
from hwtrial.analysis.srm import SrmResult, allocation_srm, outcome_srm, srm_check
from hwtrial.analysis.twosample import (
    WelchResult,
    moments_from_sums,
    positive_p,
    welch_from_counts,
    welch_from_stats,
    welch_from_sums,
    welch_t_test,
)

__all__ = [
    "AdherenceModel", "AncovaResult", "ArmCompletion", "ArmFlow", "ArmMissing", "BaselineRow",
    "DunnettResult", "Estimate", "FactorialPowerResult", "FactorialResult", "MissingSummary",
    "ParticipantAdherence", "PowerResult", "SrmResult", "TwoProportionResult",
    "TwoProportionTest", "WelchResult", "adherence_model", "adjust_pvalues", "allocation_srm",
    "ancova", "arm_flow", "baseline_table", "check_level", "clustered_vcov",
    "completion_by_arm", "dunnett", "effect_codes", "factorial_adherence", "factorial_outcome",
    "hedges_g", "hedges_g_from_stats", "missing_by_arm", "moments_from_sums",
    "number_needed_to_treat", "odds_ratio", "outcome_srm", "participant_adherence",
    "population_mask", "positive_p", "power_factorial", "power_means", "power_proportions",
    "proportion", "proportions_from_counts", "risk_difference", "risk_ratio",
    "select_population", "srm_check", "to_dict", "two_proportion_test", "welch_from_counts",
    "welch_from_stats", "welch_from_sums", "welch_t_test", "wilson_ci",
]

# ---------------------------------------------------------------------------------------
# Engineer 2's modules (mixed, counts, mechanisms, mrt, clustered). They define no
# __all__, so they are exposed as submodules: hwtrial.analysis.mixed.<name>, etc.
# ---------------------------------------------------------------------------------------
from hwtrial.analysis import clustered, counts, mechanisms, mixed, mrt  # noqa: E402

__all__ += ["clustered", "counts", "mechanisms", "mixed", "mrt"]
