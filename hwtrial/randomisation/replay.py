"""Re-derive every allocation of a stored log from the study seed.

Replay does not reuse the running state the service kept: blocked allocations are rebuilt
from the stored (stratum, block number, position), minimisation counts are rebuilt in
sequence order from the replayed arms. Identical arms prove that the log, the seed and
the code agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .blocks import allocate_from_block, new_block
from .cluster import INHERITED
from .counts import MinimisationCounts
from .minimisation import minimise
from .results import Allocation
from .seeds import MINIMISATION_STREAM, SIMPLE_STREAM, block_rng, stream_rng
from .simple import simple
from .spec import AllocationSpec


def _redraw(spec: AllocationSpec, seed: int, entry: Mapping[str, Any], counts: MinimisationCounts) -> Allocation:
    seq = int(entry["sequence_no"])
    if spec.rule == "simple":
        return simple(spec.arms, spec.ratios, rng=stream_rng(seed, SIMPLE_STREAM, seq))
    if spec.rule == "permuted_blocks":
        stratum, block_no = entry["stratum"], int(entry["block_no"])
        block = new_block(spec.arms, spec.ratios, spec.block_sizes, rng=block_rng(seed, stratum, block_no))
        a = allocate_from_block(block, int(entry["position"]))
        return Allocation(a.arm, a.probability, a.method, dict(a.diagnostics, block_no=block_no, stratum=stratum))
    m = spec.minimisation
    return minimise(
        spec.arms, spec.ratios, entry["factor_levels"], counts, weights=m.weights,
        imbalance=m.imbalance, variant=m.variant, p=m.p,
        rng=stream_rng(seed, MINIMISATION_STREAM, seq),
    )


def replay(spec: AllocationSpec, log: Sequence[Mapping[str, Any]], seed: int) -> list[Allocation]:
    """Re-derive the allocations of ``log``.

    Parameters
    ----------
    spec : AllocationSpec
    log : sequence of mapping
        Entries as produced by :func:`~hwtrial.randomisation.engine.step`: ``sequence_no``
        and, by rule, ``stratum``/``block_no``/``position``, ``factor_levels`` and, in
        cluster designs, ``cluster_id``.
    seed : int
        The study's stored seed.

    Returns
    -------
    list of Allocation
        In ``sequence_no`` order.
    """
    counts = MinimisationCounts.empty(spec.arms)
    clusters: dict[str, str] = {}
    out = []
    for entry in sorted(log, key=lambda e: int(e["sequence_no"])):
        cluster_id = entry.get("cluster_id") if spec.cluster else None
        if cluster_id is not None and cluster_id in clusters:
            out.append(Allocation(clusters[cluster_id], 1.0, INHERITED, {"cluster_id": cluster_id, "new_cluster": False}))
            continue
        alloc = _redraw(spec, seed, entry, counts)
        if spec.rule == "minimisation":
            counts = counts.add(entry["factor_levels"], alloc.arm)
        if cluster_id is not None:
            clusters[cluster_id] = alloc.arm
            alloc = Allocation(alloc.arm, alloc.probability, alloc.method,
                               dict(alloc.diagnostics, cluster_id=cluster_id, new_cluster=True))
        out.append(alloc)
    return out


def mismatches(spec: AllocationSpec, log: Sequence[Mapping[str, Any]], seed: int) -> list[int]:
    """Sequence numbers whose recorded ``arm`` differs from the replayed one (empty = verified)."""
    ordered = sorted(log, key=lambda e: int(e["sequence_no"]))
    return [
        int(e["sequence_no"])
        for e, a in zip(ordered, replay(spec, ordered, seed), strict=True)
        if e.get("arm") != a.arm
    ]
