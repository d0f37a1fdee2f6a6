"""Allocation inside the enrolment transaction: lock the running state, step, write back.

The pure core (:mod:`hwtrial.randomisation`) decides; this module only feeds it the running
state of the participant's stratum and stores what it returns. Locking: the study-wide
``"*"`` state row (which carries the study's allocation counter, hence ``sequence_no``) is
locked ``FOR UPDATE`` on PostgreSQL; SQLite transactions begin ``IMMEDIATE`` and so hold the
write lock already. Every invariant also has a UNIQUE constraint behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import ServiceError
from ..models import Allocation, AllocationState, Cluster, Participant, Study
from ..randomisation import AllocationSpec, BlockCursor, MinimisationCounts, replay, step
from ..randomisation import AllocationState as EngineState
from ..randomisation.strata import stratum_key
from ..studydef import StudyDefinition, load_study_data

#: Method recorded for a study with a single arm (micro-randomised trials), where the core's
#: rules do not apply: everyone joins that arm with probability 1.
SINGLE_ARM = "single_arm"
STUDY_WIDE = "*"

_DESIGNS: dict[tuple[int, int, str], StudyDesign] = {}


@dataclass(frozen=True)
class StudyDesign:
    """What enrolment needs from a stored study version, built once per version.

    Attributes
    ----------
    definition : StudyDefinition
    spec : AllocationSpec or None
        ``None`` for a single-arm study.
    arms : dict
        Arm key to the normalised arm (``key``, ``code``, ``label``, ``features``).
    levels : dict
        Every factor a participant must give (stratification, minimisation and cluster
        covariates) to its allowed levels.
    seed : int
    """

    definition: StudyDefinition
    spec: AllocationSpec | None
    arms: dict[str, dict]
    levels: dict[str, tuple[str, ...]]
    seed: int
    #: The normalised definition as a plain dict; shared, never to be modified.
    data: dict

    @property
    def stratum_factors(self) -> tuple[str, ...]:
        return self.spec.strata if self.spec else ()

    @property
    def cluster_unit(self) -> str | None:
        return self.spec.cluster.unit if self.spec and self.spec.cluster else None


def design_of(study: Study) -> StudyDesign:
    """The study's design for its current version (cached: hot path of every enrolment)."""
    key = (study.id, study.current_version, study.allocation_seed)
    design = _DESIGNS.get(key)
    if design is None:
        if len(_DESIGNS) > 512:  # many test databases in one process; never unbounded
            _DESIGNS.clear()
        design = _DESIGNS[key] = _build_design(study)
    return design


def _build_design(study: Study) -> StudyDesign:
    definition = load_study_data(study.definition, f"study:{study.key}")
    data = definition.data
    arms = {arm["key"]: arm for arm in data["arms"]}
    try:
        spec = AllocationSpec.from_dict(definition.allocation)
    except ValueError:
        if len(arms) != 1:
            raise
        spec = None  # a core that refuses single-arm designs: everyone joins the one arm
    levels = {s["key"]: tuple(s["levels"]) for s in definition.strata}
    for cov in (data.get("clusters") or {}).get("covariates", []):
        levels[cov["key"]] = tuple(cov["levels"])
    needed = set(spec.strata) if spec else set()
    if spec and spec.minimisation:
        needed |= set(spec.minimisation.factors)
    missing = needed - set(levels)
    if missing:  # the study-file checks should make this impossible
        raise RuntimeError(f"study {study.key}: factors without levels {sorted(missing)}")
    return StudyDesign(definition, spec, arms, levels, int(study.allocation_seed), data)


def _insert_ignore(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def lock_enabled() -> bool:
    return not current_app.config["HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK"]


def state_rows(session: Session, study_id: int, strata: tuple[str, ...] = (), *,
               lock: bool = True) -> dict[str, AllocationState]:
    """The ``"*"`` row and the rows of ``strata``, created if absent.

    With ``lock`` they are locked ``FOR UPDATE`` in one statement, ``"*"`` first: every
    enrolment takes ``"*"`` first, so two enrolments never wait on each other in a circle.
    """
    keys = tuple(dict.fromkeys((STUDY_WIDE, *strata)))
    query = (sa.select(AllocationState)
             .where(AllocationState.study_id == study_id, AllocationState.stratum_key.in_(keys))
             .order_by(AllocationState.stratum_key != STUDY_WIDE)
             .execution_options(populate_existing=True))
    if lock:
        query = query.with_for_update()
    rows = {r.stratum_key: r for r in session.scalars(query)}
    missing = [k for k in keys if k not in rows]
    if missing:
        # Two first enrolments may both miss a row: ON CONFLICT lets both go on to lock it.
        insert = _insert_ignore(session)
        session.execute(insert(AllocationState).values([
            {"study_id": study_id, "stratum_key": k, "counts": {}, "next_position": 0,
             "n_allocated": 0} for k in missing]).on_conflict_do_nothing(
            index_elements=["study_id", "stratum_key"]))
        rows = {r.stratum_key: r for r in session.scalars(query)}
    return rows


def _bump(counts: dict, arm: str) -> dict:
    arms = dict(counts.get("arms", {}))
    arms[arm] = arms.get(arm, 0) + 1
    return {**counts, "arms": arms}


def allocate(session: Session, study: Study, design: StudyDesign, participant: Participant,
             values: dict[str, str]) -> Allocation:
    """Allocate ``participant`` (already flushed) and add its :class:`Allocation` row."""
    spec = design.spec
    stratum = stratum_key(spec.strata, values) if spec else STUDY_WIDE
    rows = state_rows(session, study.id, (stratum,), lock=lock_enabled())
    main = rows[STUDY_WIDE]
    if spec is None:
        arm = next(iter(design.arms))
        row = _log_row(study, participant, main.n_allocated, arm, 1.0, SINGLE_ARM, STUDY_WIDE, {})
        main.n_allocated += 1
        main.counts = _bump(main.counts, arm)
    else:
        row = _step(session, study, design, participant, values, main, rows[stratum], stratum)
    # Attach without the backref's load of the previous value: the answer renders it.
    set_committed_value(participant, "allocation", row)
    session.add(row)
    session.flush()
    return row


def _step(session, study, design, participant, values, main, srow, stratum) -> Allocation:
    spec = design.spec
    cluster = _cluster(session, study, design, values) if spec.cluster else None
    before = EngineState(
        sequence_no=main.n_allocated,
        cursors={stratum: BlockCursor(srow.block_no or 0, srow.next_position)},
        counts=(MinimisationCounts.from_nested(spec.arms, main.counts.get("factors", {}))
                if spec.minimisation else None),
        clusters={cluster.cluster_key: cluster.arm_key} if cluster else {},
    )
    result = step(spec, design.seed, before, values)
    entry, alloc, after = result.log_entry, result.allocation, result.state
    drew = alloc.method != "cluster_inherited"
    main.n_allocated = after.sequence_no
    main.counts = _bump(main.counts, alloc.arm)
    if drew and spec.rule == "permuted_blocks":
        cursor = after.cursors[stratum]
        srow.block_no, srow.next_position = cursor.block_no, cursor.position
        if srow is not main:
            srow.n_allocated += 1
            srow.counts = _bump(srow.counts, alloc.arm)
    if drew and spec.minimisation:
        main.counts = {**main.counts, "factors": after.counts.to_nested()}
    if drew and spec.cluster:
        session.add(Cluster(study_id=study.id, cluster_key=entry["cluster_id"], arm_key=alloc.arm,
                            probability=alloc.probability,
                            covariates={c: values[c] for c in spec.cluster.covariates}))
    diagnostics = {"rule": alloc.to_dict()["diagnostics"],
                   "log": {k: entry[k] for k in ("factor_levels", "cluster_id") if k in entry}}
    if spec.factorial:
        cell = next(c for c in spec.factorial.cells if c.key == alloc.arm)
        diagnostics["factorial"] = {f: {"level": cell.levels[f], "code": cell.codes[f]}
                                    for f in spec.factorial.factors}
    return _log_row(study, participant, entry["sequence_no"], alloc.arm, alloc.probability,
                    alloc.method, entry.get("stratum", stratum), diagnostics,
                    entry.get("block_no"), entry.get("position"))


def _cluster(session, study, design, values) -> Cluster | None:
    """The participant's cluster if already allocated; its covariates must agree."""
    key = values[design.cluster_unit]
    cluster = session.scalar(sa.select(Cluster).where(Cluster.study_id == study.id,
                                                      Cluster.cluster_key == key))
    if cluster is not None:
        differ = {c: [f"cluster {key!r} has {v!r}"] for c, v in cluster.covariates.items()
                  if values.get(c) != v}
        if differ:
            raise ServiceError(422, "the cluster's covariates differ from its first member's",
                               {f"strata.{c}": m for c, m in differ.items()})
    return cluster


def _log_row(study, participant, engine_seq, arm, probability, method, stratum, diagnostics,
             block_no=None, position=None) -> Allocation:
    # The engine counts draws from 0; the log numbers them from 1.
    return Allocation(study_id=study.id, participant_id=participant.id, sequence_no=engine_seq + 1,
                      arm_key=arm, method=method, probability=probability, stratum_key=stratum,
                      block_no=block_no, position=position, study_version=study.current_version,
                      diagnostics=diagnostics)


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify`.

    Attributes
    ----------
    n : int
        Allocations checked.
    mismatches : list of (int, str, str)
        ``(sequence_no, stored arm, replayed arm)`` for every allocation that differs.
    problems : list of str
        Other inconsistencies: gaps in ``sequence_no``, running counter behind the log.
    """

    n: int
    mismatches: list[tuple[int, str, str]]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.problems


def log_rows(session: Session, study: Study) -> list[Allocation]:
    return list(session.scalars(sa.select(Allocation).where(Allocation.study_id == study.id)
                                .order_by(Allocation.sequence_no)))


def verify(session: Session, study: Study) -> VerifyReport:
    """Replay every allocation of ``study`` from its stored seed and log."""
    design = design_of(study)
    rows = log_rows(session, study)
    problems = []
    if [r.sequence_no for r in rows] != list(range(1, len(rows) + 1)):
        problems.append("sequence_no is not 1..n without gaps")
    main = state_rows(session, study.id, lock=False)[STUDY_WIDE] if rows else None
    if main is not None and main.n_allocated != len(rows):
        problems.append(f"running counter says {main.n_allocated} allocations, the log has {len(rows)}")
    if design.spec is None:
        only = next(iter(design.arms))
        bad = [(r.sequence_no, r.arm_key, only) for r in rows if r.arm_key != only]
        return VerifyReport(len(rows), bad, problems)
    replayed = replay(design.spec, [_entry(r) for r in rows], design.seed)
    bad = [(r.sequence_no, r.arm_key, a.arm) for r, a in zip(rows, replayed, strict=True)
           if r.arm_key != a.arm]
    return VerifyReport(len(rows), bad, problems)


def _entry(row: Allocation) -> dict[str, Any]:
    entry = {"sequence_no": row.sequence_no - 1, "stratum": row.stratum_key,
             "block_no": row.block_no, "position": row.position, "arm": row.arm_key}
    entry.update((row.diagnostics or {}).get("log", {}))
    return entry

