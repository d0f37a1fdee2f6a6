"""Permuted blocks with random block sizes.

The service keeps one :class:`BlockCursor` (block number, position) per stratum. The block
itself is never stored: it is re-derived from the study seed, the stratum key and the block
number, so the state stays two integers however many participants enrol, and every block
can be reproduced offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._arms import check_arms
from .results import Allocation
from .seeds import block_rng


@dataclass(frozen=True)
class Block:
    """One permuted block.

    Attributes
    ----------
    size : int
        Number of slots; a multiple of the ratio sum.
    sequence : tuple of str
        Arm key of each slot in allocation order; arms appear exactly in ratio.
    """

    size: int
    sequence: tuple[str, ...]


@dataclass(frozen=True)
class BlockCursor:
    """Running state of blocked allocation in one stratum.

    Attributes
    ----------
    block_no : int
        Number of the current block (0-based) within the stratum.
    position : int
        Next slot to use in that block (0-based).
    """

    block_no: int = 0
    position: int = 0


def check_block_sizes(block_sizes: Sequence[int], ratios: Sequence[int]) -> tuple[int, ...]:
    """Validate block sizes against the ratio sum; raise ``ValueError("block_sizes ...")``."""
    sizes = tuple(block_sizes)
    unit = sum(ratios)
    if not sizes:
        raise ValueError("block_sizes must hold at least one size")
    for s in sizes:
        if isinstance(s, bool) or int(s) != s or s < unit or s % unit:
            raise ValueError(
                f"block_sizes must be positive multiples of the ratio sum {unit}, got {sizes!r}"
            )
    return tuple(int(s) for s in sizes)


def new_block(arms: Sequence[str], ratios: Sequence[int], block_sizes: Sequence[int], rng=None) -> Block:
    """Draw a block size uniformly from ``block_sizes`` and a random permutation of its slots.

    Parameters
    ----------
    arms, ratios : sequence
        Arm keys and positive integer ratios.
    block_sizes : sequence of int
        Candidate sizes, each a multiple of ``sum(ratios)``; drawn with equal probability.
    rng : None, int, sequence of int or numpy.random.Generator
        Source of randomness; the service passes :func:`block_rng`.

    Returns
    -------
    Block
    """
    rng = np.random.default_rng(rng)
    arms_t, ratios_t = check_arms(arms, ratios)
    sizes = check_block_sizes(block_sizes, ratios_t)
    size = sizes[int(rng.integers(len(sizes)))]
    reps = size // sum(ratios_t)
    slots = [a for a, r in zip(arms_t, ratios_t, strict=True) for _ in range(r * reps)]
    order = rng.permutation(size)
    return Block(size=size, sequence=tuple(slots[i] for i in order))


def allocate_from_block(block: Block, position: int) -> Allocation:
    """Allocation at slot ``position`` of ``block``.

    ``probability`` is the conditional probability of that arm given the slots still
    unused before this position: remaining count of the arm / remaining slots.
    """
    if isinstance(position, bool) or not 0 <= int(position) < block.size:
        raise ValueError(f"position must be in [0, {block.size}), got {position!r}")
    remaining = block.sequence[position:]
    arm = remaining[0]
    return Allocation(
        arm=arm,
        probability=remaining.count(arm) / len(remaining),
        method="permuted_blocks",
        diagnostics={"block_size": block.size, "position": int(position)},
    )


def allocate_blocked(
    arms: Sequence[str],
    ratios: Sequence[int],
    block_sizes: Sequence[int],
    seed: int,
    stratum: str,
    cursor: BlockCursor,
) -> tuple[Allocation, BlockCursor]:
    """Next blocked allocation in ``stratum`` and the cursor to store afterwards.

    The block is re-derived from ``block_rng(seed, stratum, cursor.block_no)``, so the
    service stores only the cursor. The diagnostics carry ``block_no`` for the log.
    """
    block = new_block(arms, ratios, block_sizes, rng=block_rng(seed, stratum, cursor.block_no))
    alloc = allocate_from_block(block, cursor.position)
    diagnostics = dict(alloc.diagnostics, block_no=cursor.block_no, stratum=stratum)
    alloc = Allocation(alloc.arm, alloc.probability, alloc.method, diagnostics)
    if cursor.position + 1 < block.size:
        return alloc, BlockCursor(cursor.block_no, cursor.position + 1)
    return alloc, BlockCursor(cursor.block_no + 1, 0)
