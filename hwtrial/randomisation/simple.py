"""Simple (unrestricted) randomisation with integer allocation ratios."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._arms import check_arms, choose
from .results import Allocation


def simple(arms: Sequence[str], ratios: Sequence[int], rng=None) -> Allocation:
    """Allocate one participant by simple randomisation.

    Parameters
    ----------
    arms : sequence of str
        Arm keys.
    ratios : sequence of int
        Positive integer allocation ratio per arm; arm ``i`` is chosen with probability
        ``ratios[i] / sum(ratios)``.
    rng : None, int, sequence of int or numpy.random.Generator
        Source of randomness (passed to ``numpy.random.default_rng``).

    Returns
    -------
    Allocation
        ``method="simple"``; ``probability`` is the arm's ratio share.
    """
    rng = np.random.default_rng(rng)
    arms_t, ratios_t = check_arms(arms, ratios, min_arms=1)
    total = sum(ratios_t)
    probs = [r / total for r in ratios_t]
    i = choose(rng.random(), arms_t, probs)
    return Allocation(arm=arms_t[i], probability=probs[i], method="simple")
