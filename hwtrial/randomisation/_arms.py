"""Validation of arms and ratios and the one-uniform choice every rule shares."""

from __future__ import annotations

from collections.abc import Sequence


def check_arms(arms: Sequence[str], ratios: Sequence[int], *, min_arms: int = 2
               ) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Validate arm keys and integer allocation ratios; raise ``ValueError`` naming the option.

    ``min_arms=1`` is for simple allocation only: a single-arm study (e.g. a micro-randomised
    trial, where randomisation happens at decision points) gives everyone that arm.
    """
    if isinstance(arms, str):
        raise ValueError("arms must be a sequence of arm keys, not a single string")
    arms_t = tuple(str(a) for a in arms)
    if len(arms_t) < min_arms:
        raise ValueError(f"arms must hold at least {min_arms} arms, got {len(arms_t)}")
    if len(set(arms_t)) != len(arms_t) or any(not a for a in arms_t):
        raise ValueError(f"arms must be distinct non-empty keys, got {arms_t!r}")
    ratios_t = tuple(ratios)
    if len(ratios_t) != len(arms_t):
        raise ValueError(f"ratios must have one entry per arm ({len(arms_t)}), got {len(ratios_t)}")
    for r in ratios_t:
        # Integers only: a ratio fixes how many slots an arm takes in a block.
        if isinstance(r, bool) or int(r) != r or r < 1:
            raise ValueError(f"ratios must be positive integers, got {ratios_t!r}")
    return arms_t, tuple(int(r) for r in ratios_t)


def choose(u: float, arms: Sequence[str], probs: Sequence[float]) -> int:
    """Index of the arm a uniform ``u`` in [0, 1) selects by inverse CDF over ``probs``.

    One uniform per decision keeps the draw count fixed, which keeps replay simple.
    """
    acc = 0.0
    last = 0
    for i, p in enumerate(probs):
        if p <= 0.0:
            continue
        acc += p
        last = i
        if u < acc:
            return i
    # Rounding can leave the cumulative sum a hair under 1.
    return last
