"""One allocation step over plain state, as the service performs it inside a locked transaction.

The state is running counts only (a block cursor per stratum, minimisation counts, the arm
of each cluster and the allocation counter), so a step costs the same at the first and the
hundred-thousandth participant. Each step also returns the log entry from which
:func:`~hwtrial.randomisation.replay.replay` re-derives the allocation from the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .blocks import BlockCursor, allocate_blocked
from .cluster import INHERITED
from .counts import MinimisationCounts
from .minimisation import minimise
from .results import Allocation
from .seeds import MINIMISATION_STREAM, SIMPLE_STREAM, stream_rng
from .simple import simple
from .spec import AllocationSpec
from .strata import level_of, stratum_key


@dataclass(frozen=True)
class AllocationState:
    """Running state of a study's allocation.

    Attributes
    ----------
    sequence_no : int
        Number of allocations made so far; the next draw index.
    cursors : Mapping
        Stratum key to :class:`BlockCursor` (blocked rules).
    counts : MinimisationCounts or None
        Minimisation counts (of participants, or of clusters in a cluster design).
    clusters : Mapping
        Cluster id to arm (cluster designs).
    """

    sequence_no: int = 0
    cursors: Mapping[str, BlockCursor] = field(default_factory=dict)
    counts: MinimisationCounts | None = None
    clusters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """Result of :func:`step`: the ``allocation``, the ``log_entry`` to store (a plain
    dict) and the ``state`` to write back."""

    allocation: Allocation
    log_entry: dict[str, Any]
    state: AllocationState


def minimisation_levels(spec: AllocationSpec, values: Mapping[str, object]) -> dict[str, str]:
    """The participant's (or cluster's) levels of the minimisation factors."""
    return {f: level_of(values, f) for f in spec.minimisation.factors}


def _draw(spec: AllocationSpec, seed: int, state: AllocationState, values, entry) -> tuple[Allocation, AllocationState]:
    seq = state.sequence_no
    if spec.rule == "simple":
        return simple(spec.arms, spec.ratios, rng=stream_rng(seed, SIMPLE_STREAM, seq)), state
    if spec.rule == "permuted_blocks":
        stratum = stratum_key(spec.strata, values)
        cursor = state.cursors.get(stratum, BlockCursor())
        alloc, new_cursor = allocate_blocked(spec.arms, spec.ratios, spec.block_sizes, seed, stratum, cursor)
        entry.update(stratum=stratum, block_no=cursor.block_no, position=cursor.position)
        return alloc, replace(state, cursors={**state.cursors, stratum: new_cursor})
    levels = minimisation_levels(spec, values)
    counts = state.counts or MinimisationCounts.empty(spec.arms)
    m = spec.minimisation
    alloc = minimise(
        spec.arms, spec.ratios, levels, counts, weights=m.weights, imbalance=m.imbalance,
        variant=m.variant, p=m.p, rng=stream_rng(seed, MINIMISATION_STREAM, seq),
    )
    entry.update(factor_levels=levels)
    return alloc, replace(state, counts=counts.add(levels, alloc.arm))


def step(spec: AllocationSpec, seed: int, state: AllocationState, values: Mapping[str, object]) -> Step:
    """Allocate the next participant.

    Parameters
    ----------
    spec : AllocationSpec
    seed : int
        The study's stored seed (see :func:`~hwtrial.randomisation.seeds.new_seed`).
    state : AllocationState
        State before this participant.
    values : mapping
        The participant's stratification/minimisation values and, in a cluster design,
        the cluster id under ``spec.cluster.unit``.

    Returns
    -------
    Step
    """
    entry: dict[str, Any] = {"sequence_no": state.sequence_no}
    if spec.cluster is not None:
        cluster_id = level_of(values, spec.cluster.unit)
        entry["cluster_id"] = cluster_id
        if cluster_id in state.clusters:
            alloc = Allocation(state.clusters[cluster_id], 1.0, INHERITED, {"cluster_id": cluster_id, "new_cluster": False})
            new_state = state
        else:
            alloc, new_state = _draw(spec, seed, state, values, entry)
            alloc = Allocation(alloc.arm, alloc.probability, alloc.method,
                               dict(alloc.diagnostics, cluster_id=cluster_id, new_cluster=True))
            new_state = replace(new_state, clusters={**state.clusters, cluster_id: alloc.arm})
    else:
        alloc, new_state = _draw(spec, seed, state, values, entry)
    entry.update(method=alloc.method, arm=alloc.arm, probability=alloc.probability)
    return Step(alloc, entry, replace(new_state, sequence_no=state.sequence_no + 1))
