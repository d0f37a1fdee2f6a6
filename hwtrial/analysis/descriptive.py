"""Per-arm flow numbers and the baseline table (CONSORT items 13a and 15).

Input is one row per randomised participant with an ``arm`` column. The baseline table
reports mean/SD for numeric variables and n/% for categorical ones; by CONSORT advice it
carries no significance tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ArmFlow:
    """Numbers randomised and analysed in one arm.

    Attributes
    ----------
    arm : str
        Arm label.
    randomised : int
        Rows (participants) in the arm.
    analysed : int
        Rows counted as analysed (``analysed`` column true, or all rows when no column).
    excluded : int
        ``randomised - analysed``.
    """

    arm: str
    randomised: int
    analysed: int
    excluded: int


def arm_flow(
    participants: pd.DataFrame, *, arm: str = "arm", analysed: str | None = None
) -> list[ArmFlow]:
    """Numbers randomised and analysed per arm, arms in sorted order.

    Parameters
    ----------
    participants : DataFrame
        One row per randomised participant.
    arm : str
        Arm column.
    analysed : str, optional
        Boolean column marking participants in the analysis population (e.g. the output
        of :func:`hwtrial.analysis.outcomes.population_mask`); ``None`` counts everyone.
    """
    _require(participants, [arm] + ([analysed] if analysed else []))
    flows = []
    for label, group in participants.groupby(arm, sort=True):
        n = len(group)
        k = int(group[analysed].astype(bool).sum()) if analysed else n
        flows.append(ArmFlow(str(label), n, k, n - k))
    return flows


@dataclass(frozen=True)
class BaselineRow:
    """One cell group of the baseline table.

    Attributes
    ----------
    variable : str
        Column name.
    level : str or None
        Category for categorical rows, ``None`` for numeric rows.
    arm : str
        Arm label, or ``"overall"``.
    n : int
        Non-missing observations of ``variable`` in the arm.
    mean, sd : float or None
        Numeric rows only (SD with ``n - 1`` denominator).
    count : int or None
        Categorical rows: participants at ``level``.
    percent : float or None
        Categorical rows: ``100 * count / n`` (missing values excluded from ``n``).
    missing : int
        Missing values of ``variable`` in the arm.
    """

    variable: str
    level: str | None
    arm: str
    n: int
    mean: float | None
    sd: float | None
    count: int | None
    percent: float | None
    missing: int


def _require(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in table: {missing}")


def _numeric_rows(values: pd.Series, variable: str, arm: str) -> list[BaselineRow]:
    x = values.dropna().to_numpy(dtype=float)
    sd = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
    mean = float(x.mean()) if x.size else float("nan")
    return [BaselineRow(variable, None, arm, int(x.size), mean, sd, None, None,
                        int(values.isna().sum()))]


def _categorical_rows(values: pd.Series, variable: str, arm: str, levels) -> list[BaselineRow]:
    present = values.dropna()
    n = len(present)
    rows = []
    for level in levels:
        count = int((present == level).sum())
        pct = 100.0 * count / n if n else float("nan")
        rows.append(BaselineRow(variable, str(level), arm, n, None, None, count, pct,
                                int(values.isna().sum())))
    return rows


def baseline_table(
    participants: pd.DataFrame,
    variables: Sequence[str],
    *,
    arm: str = "arm",
    categorical: Sequence[str] | None = None,
    overall: bool = True,
) -> list[BaselineRow]:
    """Baseline characteristics per arm (and overall).

    Parameters
    ----------
    participants : DataFrame
        One row per participant.
    variables : sequence of str
        Columns to describe, in display order.
    arm : str
        Arm column.
    categorical : sequence of str, optional
        Columns to treat as categorical; by default non-numeric dtypes are categorical.
    overall : bool
        Also add rows with ``arm="overall"``.

    Returns
    -------
    list of BaselineRow
        Ordered by variable, then level, then arm.
    """
    _require(participants, [arm, *variables])
    cats = set(categorical) if categorical is not None else {
        v for v in variables if not pd.api.types.is_numeric_dtype(participants[v])
    }
    groups = [(str(k), g) for k, g in participants.groupby(arm, sort=True)]
    if overall:
        groups.append(("overall", participants))
    rows: list[BaselineRow] = []
    for var in variables:
        if var in cats:
            levels = sorted(participants[var].dropna().unique(), key=str)
            per_arm = [_categorical_rows(g[var], var, a, levels) for a, g in groups]
            # transpose so each level's arms sit together
            rows.extend(r for level_rows in zip(*per_arm, strict=True) for r in level_rows)
        else:
            for a, g in groups:
                rows.extend(_numeric_rows(g[var], var, a))
    return rows
