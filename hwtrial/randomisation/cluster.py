"""Cluster randomisation: a cluster (e.g. a therapist) is allocated once; members inherit."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .results import Allocation

INHERITED = "cluster_inherited"


def cluster_allocation(
    existing: Mapping[str, str], cluster_id: str, allocate: Callable[[], Allocation]
) -> Allocation:
    """Allocation of a member of cluster ``cluster_id``.

    Parameters
    ----------
    existing : mapping
        Arm of every cluster already allocated (cluster id to arm key).
    cluster_id : str
        The member's cluster.
    allocate : callable
        Called with no arguments, only when the cluster is new, to allocate the cluster
        itself (blocked, minimised on cluster covariates, or simple).

    Returns
    -------
    Allocation
        For a known cluster: its arm with ``probability=1.0`` and
        ``method="cluster_inherited"``; for a new cluster: what ``allocate`` returned,
        with ``diagnostics["cluster_id"]`` and ``diagnostics["new_cluster"]=True``.
    """
    key = str(cluster_id).strip() if cluster_id is not None else ""
    if not key:
        raise ValueError("cluster_id must be a non-empty identifier")
    if key in existing:
        return Allocation(
            arm=existing[key],
            probability=1.0,
            method=INHERITED,
            diagnostics={"cluster_id": key, "new_cluster": False},
        )
    first = allocate()
    diagnostics = dict(first.diagnostics, cluster_id=key, new_cluster=True)
    return Allocation(first.arm, first.probability, first.method, diagnostics)
