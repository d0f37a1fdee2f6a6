"""SMART: stage-2 re-randomisation by stage-1 arm and response status.

Each (stage-1 arm, response) cell has its own stage-2 options. The probability of the
stage-2 option is recorded because the analysis of embedded regimes weights by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._arms import check_arms
from .results import Allocation
from .simple import simple


def stage2_stratum(stage1_arm: str, response: str) -> str:
    """Stratum key of a stage-2 cell, for blocked stage-2 allocation via ``allocate_blocked``."""
    return f"stage1={stage1_arm}|response={response}"


def stage2_options(
    design: Mapping[str, Mapping[str, Sequence[str] | Mapping[str, int]]], stage1_arm: str, response: str
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Stage-2 options and ratios for one cell of ``design``.

    ``design[stage1_arm][response]`` is a list of option keys (ratio 1 each) or a mapping
    option to integer ratio. Raises ``ValueError`` naming a missing arm or response.
    """
    if stage1_arm not in design:
        raise ValueError(f"design has no stage1_arm {stage1_arm!r}")
    cell = design[stage1_arm].get(response)
    if not cell:
        raise ValueError(f"design[{stage1_arm!r}] has no options for response {response!r}")
    if isinstance(cell, str):
        raise ValueError(f"design[{stage1_arm!r}][{response!r}] must be a list or mapping, not a string")
    if isinstance(cell, Mapping):
        keys, ratios = tuple(cell), tuple(cell.values())
    else:
        keys, ratios = tuple(cell), (1,) * len(cell)
    if len(keys) == 1:
        return (str(keys[0]),), (1,)
    return check_arms(keys, ratios)


def smart_stage2(
    design: Mapping[str, Mapping[str, Sequence[str] | Mapping[str, int]]],
    stage1_arm: str,
    response: str,
    rng=None,
) -> Allocation:
    """Stage-2 allocation of a participant by simple randomisation within their cell.

    Parameters
    ----------
    design : mapping
        ``{stage1_arm: {response: options}}``, e.g. ``{"A": {"responder": ["continue"],
        "non_responder": ["augment", "switch"]}}``.
    stage1_arm, response : str
        The participant's stage-1 arm and response status.
    rng : None, int, sequence of int or numpy.random.Generator
        Source of randomness; not drawn from when the cell has a single option.

    Returns
    -------
    Allocation
        ``method="smart_stage2"`` with the option's probability, or
        ``method="smart_stage2_fixed"`` and probability 1 for a single option.
    """
    rng = np.random.default_rng(rng)
    options, ratios = stage2_options(design, stage1_arm, response)
    info = {"stage1_arm": stage1_arm, "response": response}
    if len(options) == 1:
        return Allocation(options[0], 1.0, "smart_stage2_fixed", info)
    drawn = simple(options, ratios, rng=rng)
    return Allocation(drawn.arm, drawn.probability, "smart_stage2", info)
