"""Micro-randomised reminders: the weighted and centred least squares (WCLS) estimator.

Boruvka, Almirall, Witkiewitz and Murphy (2018), "Assessing time-varying causal effect
moderation in mobile health", JASA 113:1112-1121. At each available decision point ``t`` of
participant ``i`` with randomisation probability ``p`` and treatment ``A``:

* weight ``W = (p~/p)^A ((1 - p~)/(1 - p))^(1 - A)`` with a constant numerator
  probability ``p~`` (default: mean of ``A`` over available points),
* fit ``Y ~ g(X)' alpha + (A - p~) f(S)' beta`` by weighted least squares, where ``g``
  holds an intercept, the control covariates and the moderators, and ``f`` an intercept
  and the moderators. With no moderators ``beta`` is the marginal proximal effect.
* Variance: the estimating-equation sandwich clustered by participant,
  ``B^-1 (sum_i U_i U_i') B^-1`` with ``B = sum W x x'`` and ``U_i = sum_t W r x``; this is
  ``sandwich::vcovCL(fit, cluster = ~participant_id, type = "HC0", cadjust = FALSE)`` on the
  weighted ``lm``; normal inference. ``small_sample=True`` uses the Mancl and DeRouen (2001)
  correction ``U_i = X_i' W_i (I - H_ii)^-1 r_i``, ``H_ii = X_i B^-1 X_i' W_i``, and t with
  ``n_participants - p - q`` df (p control terms incl. intercept, q effect terms), as
  Boruvka et al. recommend. With weights this is *not* ``vcovCL(type = "HC3")``, which
  applies ``(I - H_ii)^-1`` to ``W r`` and scales by ``(G - 1)/G``; the reference values
  compute Mancl-DeRouen by hand in R.

Unavailable points are dropped (no treatment effect is defined there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hwtrial.analysis.results import Estimate, check_level


@dataclass(frozen=True)
class WCLSResult:
    """Proximal treatment effect (and moderation) from WCLS.

    Attributes
    ----------
    effects : tuple of Estimate
        ``"effect"`` (the proximal effect; at moderators = 0 when moderated) and
        ``"effect:<moderator>"`` per moderator, on the outcome's scale.
    p_tilde : float
        Numerator probability used for the weights and the centring.
    n_participants : int
        Clusters in the sandwich.
    n_available : int
        Available decision points analysed.
    small_sample : bool
        Whether the Mancl-DeRouen correction and t inference were used.
    """

    effects: tuple[Estimate, ...]
    p_tilde: float
    n_participants: int
    n_available: int
    small_sample: bool

    def effect(self, name: str = "effect") -> Estimate:
        """Return the effect called ``name``; ``KeyError`` if there is none."""
        return {e.name: e for e in self.effects}[name]


def _available_rows(data, cols, available):
    for col in (*cols, available):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is missing from data")
    avail = data[available].to_numpy()
    if not np.isin(avail, (0, 1)).all():
        raise ValueError(f"available {available!r} must be 0/1")
    rows = data[avail == 1]
    if rows[list(cols)].isna().any().any():
        raise ValueError(f"available rows must have no missing values in {list(cols)}")
    return rows


def _weights(a: np.ndarray, p: np.ndarray, p_tilde: float | None) -> tuple[np.ndarray, float]:
    if not np.isin(a, (0, 1)).all():
        raise ValueError("treated must be 0/1")
    if np.any(p <= 0) or np.any(p >= 1):
        raise ValueError("probability must be strictly between 0 and 1 at available points")
    p_tilde = float(np.mean(a)) if p_tilde is None else float(p_tilde)
    if not 0 < p_tilde < 1:
        raise ValueError(f"p_tilde must be strictly between 0 and 1, got {p_tilde!r}")
    w = np.where(a == 1, p_tilde / p, (1 - p_tilde) / (1 - p))
    return w, p_tilde


def _sandwich(X, y, w, codes, small_sample) -> tuple[np.ndarray, np.ndarray]:
    """WLS coefficients and the participant-clustered sandwich covariance."""
    bread = np.linalg.inv(X.T @ (X * w[:, None]))
    beta = bread @ (X.T @ (w * y))
    resid = y - X @ beta
    meat = np.zeros_like(bread)
    for g in range(codes.max() + 1):
        idx = codes == g
        Xg, wg, rg = X[idx], w[idx], resid[idx]
        if small_sample:
            # Mancl-DeRouen: r_g <- (I - H_gg)^-1 r_g with H_gg = X_g B^-1 X_g' W_g
            H = Xg @ bread @ (Xg * wg[:, None]).T
            rg = np.linalg.solve(np.eye(len(rg)) - H, rg)
        u = Xg.T @ (wg * rg)
        meat += np.outer(u, u)
    return beta, bread @ meat @ bread


def wcls(data: pd.DataFrame, *, outcome: str = "outcome", treated: str = "treated",
         probability: str = "probability", available: str = "available",
         participant: str = "participant_id", moderators=(), controls=(),
         p_tilde: float | None = None, small_sample: bool = False,
         level: float = 0.95) -> WCLSResult:
    """Marginal (or moderated) proximal effect of a micro-randomised treatment by WCLS.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table, one row per participant and decision point (``decision_point``
        column optional; row order does not matter).
    outcome, treated, probability, available, participant : str
        Column names: proximal outcome, 0/1 treatment, randomisation probability of
        treatment at that point, 0/1 availability, participant id.
    moderators : sequence of str
        Numeric moderators ``S`` of the effect (also entered as controls).
    controls : sequence of str
        Numeric control covariates ``X`` (improve precision, do not change the estimand).
    p_tilde : float, optional
        Constant numerator probability; default the mean of ``treated`` at available points.
    small_sample : bool
        Mancl-DeRouen corrected residuals and t(n - p - q) inference instead of the basic
        sandwich with normal inference.
    level : float
        Confidence level.

    Returns
    -------
    WCLSResult
    """
    level = check_level(level)
    moderators, controls = list(moderators), list(controls)
    cols = [outcome, treated, probability, participant, *moderators, *controls]
    rows = _available_rows(data, cols, available)
    a = rows[treated].to_numpy(float)
    w, p_tilde = _weights(a, rows[probability].to_numpy(float), p_tilde)
    ctrl = [c for c in controls if c not in moderators] + moderators
    G = np.column_stack([np.ones(len(rows)), rows[ctrl].to_numpy(float)])
    F = np.column_stack([np.ones(len(rows)), rows[moderators].to_numpy(float)])
    X = np.column_stack([G, F * (a - p_tilde)[:, None]])
    codes = pd.factorize(rows[participant])[0]
    n_part = int(codes.max()) + 1
    beta, cov = _sandwich(X, rows[outcome].to_numpy(float), w, codes, small_sample)
    names = ["effect", *[f"effect:{m}" for m in moderators]]
    df = n_part - G.shape[1] - F.shape[1] if small_sample else None
    if df is not None and df < 1:
        raise ValueError("small_sample needs more participants than model terms")
    effects = tuple(
        _estimate(name, beta[G.shape[1] + j], np.sqrt(cov[G.shape[1] + j, G.shape[1] + j]),
                  df, len(rows), level)
        for j, name in enumerate(names))
    return WCLSResult(effects, p_tilde, n_part, len(rows), bool(small_sample))


def _estimate(name, b, se, df, n, level) -> Estimate:
    dist = stats.norm if df is None else stats.t(df)
    q = dist.isf((1 - level) / 2)
    method = "wcls_sandwich_z" if df is None else "wcls_mancl_derouen_t"
    return Estimate(name, float(b), float(se), float(b - q * se), float(b + q * se),
                    float(2 * dist.sf(abs(b / se))), n, method, level,
                    {} if df is None else {"df": int(df)})
