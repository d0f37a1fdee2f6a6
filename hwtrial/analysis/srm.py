"""Sample-ratio mismatch (SRM): are observed arm sizes compatible with the planned ratio?

A mismatch usually means a bug in allocation, enrolment or data capture, not a treatment
effect, so it is flagged at a strict threshold (p < 0.001 by default) and shown before any
effect estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from hwtrial.analysis.twosample import positive_p


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness-of-fit of arm counts to the planned ratio.

    Attributes
    ----------
    arms : tuple of str
        Arm labels, in the order of the counts.
    observed : tuple of int
        Observed counts.
    expected : tuple of float
        ``total * ratio / sum(ratio)``.
    chi2 : float
        Pearson statistic (= R ``chisq.test(x, p = ratio / sum(ratio))``).
    df : int
        Number of arms minus one.
    p_value : float
        Upper-tail chi-square probability. Never exactly 0: a probability below the
        smallest normal double (about 2.2e-308) is reported as that value, an upper bound.
    threshold : float
        Flagging threshold.
    flagged : bool
        ``p_value < threshold``.
    """

    arms: tuple[str, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    df: int
    p_value: float
    threshold: float
    flagged: bool


def srm_check(
    counts: Mapping[str, int] | Sequence[int],
    ratio: Mapping[str, float] | Sequence[float] | None = None,
    *,
    threshold: float = 0.001,
) -> SrmResult:
    """Test observed arm counts against the planned allocation ratio.

    Parameters
    ----------
    counts : mapping arm -> count, or sequence of counts
        Observed units per arm.
    ratio : mapping or sequence of positive floats, optional
        Planned allocation weights, same arms/order as ``counts``; default equal.
    threshold : float
        Flag when the p-value is below this.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    if isinstance(counts, Mapping):
        arms = tuple(str(a) for a in counts)
        obs = np.array([counts[a] for a in counts], dtype=float)
        if isinstance(ratio, Mapping):
            ratio = [ratio[a] for a in counts]
    else:
        obs = np.asarray(counts, dtype=float)
        arms = tuple(str(i) for i in range(obs.size))
    w = np.ones(obs.size) if ratio is None else np.asarray(ratio, dtype=float)
    if w.shape != obs.shape or obs.size < 2 or (w <= 0).any():
        raise ValueError("ratio must give one positive weight per arm (at least two arms)")
    if (obs < 0).any():
        raise ValueError("counts must be non-negative")
    expected = obs.sum() * w / w.sum()
    chi2 = float(((obs - expected) ** 2 / expected).sum()) if obs.sum() else 0.0
    # special.chdtrc is the chi-square survival function without rv_continuous overhead
    p = positive_p(special.chdtrc(obs.size - 1, chi2))
    return SrmResult(arms, tuple(int(o) for o in obs), tuple(float(e) for e in expected),
                     chi2, obs.size - 1, p, threshold, p < threshold)


def allocation_srm(
    participants: pd.DataFrame, ratio: Mapping[str, float] | None = None, *,
    arm: str = "arm", threshold: float = 0.001,
) -> SrmResult:
    """SRM check of randomised participants per arm (``ratio`` keyed by arm label)."""
    counts = participants[arm].astype(str).value_counts().sort_index()
    arms = sorted(set(counts.index) | set(map(str, ratio or {})))
    full = {a: int(counts.get(a, 0)) for a in arms}
    w = None if ratio is None else {a: ratio[a] for a in arms}
    return srm_check(full, w, threshold=threshold)


def outcome_srm(
    participants: pd.DataFrame, ratio: Mapping[str, float] | None = None, *,
    arm: str = "arm", outcome: str = "followup", threshold: float = 0.001,
) -> SrmResult:
    """SRM check of participants with an observed ``outcome`` per arm.

    A flag here means outcome capture (follow-up completion) is unbalanced relative to
    the planned ratio — see also :func:`hwtrial.analysis.outcomes.missing_by_arm`.
    """
    observed = participants.loc[participants[outcome].notna()]
    counts = observed[arm].astype(str).value_counts()
    arms = sorted(set(participants[arm].astype(str)))
    if len(arms) < 2:
        raise ValueError(f"outcome completion needs participants in at least two arms, got {len(arms)}")
    full = {a: int(counts.get(a, 0)) for a in arms}
    w = None if ratio is None else {a: ratio[a] for a in arms}
    return srm_check(full, w, threshold=threshold)
