"""A study's data version: a counter bumped in the same transaction as every write that can
change what its results document, trial report or results page show.

``hwtrial_study.data_version`` is incremented by the session hooks below, so no write path
has to remember it:

* a flush that adds, deletes or changes (in a column the results read) a participant,
  allocation, cluster, homework instance, questionnaire response, decision point or
  feature exposure bumps that row's study (``after_flush``, same transaction);
* an INSERT/UPDATE/DELETE statement run through a session on one of those tables (the
  bulk paths: homework generation and expiry, withdrawal, decision points, exposures)
  bumps the studies named by its ``hwtrial_study_ids`` execution option or its rows'
  ``study_id`` / ``participant_id``, or every study when it names none (the periodic expiry
  pass), and only when it touched a row.

Events are the one source table left out: they arrive in bulk and often, and a counter row
per study would serialise every event batch of the study. The results cache keys on the
highest event id instead (a primary-key probe), see :func:`results_stamp`.

A write that bypasses the session (raw DBAPI, another program) does not bump the counter;
nothing in hwtrial writes that way outside benchmarks' data generators.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .allocation import Allocation, Cluster
from .event import Event, FeatureExposure
from .homework import HomeworkInstance
from .participant import Participant
from .questionnaire import QuestionnaireResponse
from .reminder import DecisionPoint
from .study import Study

#: Model → columns whose change can change results (None: any column).
WATCHED: dict[type, frozenset[str] | None] = {
    Participant: frozenset({"study_id", "status", "exclude_data", "strata", "cluster_key", "therapist_id",
                            "enrolled_at", "timezone", "withdrawn_at"}),
    Allocation: None,
    Cluster: None,
    HomeworkInstance: frozenset({"study_id", "participant_id", "state", "late", "due_at", "submitted_at",
                                 "active_seconds", "edits", "words", "self_review_depth", "effort"}),
    QuestionnaireResponse: None,
    DecisionPoint: None,
    FeatureExposure: None,
}
_TABLES = {model.__tablename__: model for model in WATCHED}
#: Execution option naming the studies a bulk UPDATE/DELETE touches (else every study is bumped).
STUDY_IDS_OPTION = "hwtrial_study_ids"
_PENDING = "hwtrial_bump_studies"


def _changed(obj, columns: frozenset[str] | None) -> bool:
    state = sa.inspect(obj)
    names = columns if columns is not None else [a.key for a in state.mapper.column_attrs]
    return any(state.attrs[name].history.has_changes() for name in names if name in state.attrs)


def _study_of(session: Session, obj) -> int | None:
    sid = getattr(obj, "study_id", None)
    if sid is None and getattr(obj, "participant_id", None) is not None:  # exposures name no study
        sid = session.execute(sa.select(Participant.study_id)
                              .where(Participant.id == obj.participant_id)).scalar()
    return sid


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:
    touched = session.info.setdefault(_PENDING, set())
    for obj in (*session.new, *session.deleted):
        if type(obj) in WATCHED:
            touched.add(obj)
    for obj in session.dirty:
        columns = WATCHED.get(type(obj), False)
        if columns is not False and _changed(obj, columns):
            touched.add(obj)


@event.listens_for(Session, "after_flush")
def _bump_flushed(session: Session, _context) -> None:
    objs = session.info.pop(_PENDING, set())
    ids = {sid for sid in (_study_of(session, obj) for obj in objs) if sid is not None}
    if ids:
        bump(session, ids)


def _negative_control() -> bool:
    """The test-only switch that must let enrolments race (``HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK``)
    also leaves the counter alone: the study-row UPDATE orders concurrent enrolments of a study
    and hid the races the negative control has to find (cached results may then be stale;
    that run reads none)."""
    from flask import current_app, has_app_context

    return has_app_context() and bool(current_app.config.get("HWTRIAL_TESTING_DISABLE_ALLOCATION_LOCK"))


@event.listens_for(Session, "before_commit")
def _bump_at_commit(session: Session) -> None:
    """Write the collected bumps last, just before COMMIT: the study rows are then locked for
    the commit only, not for the whole transaction (which would serialise every writer of a
    study from its first flush on)."""
    session.flush()
    due = session.info.pop(_DUE, None)
    if due is None:
        return
    if _negative_control():
        return
    statement = sa.update(Study.__table__).values(data_version=Study.__table__.c.data_version + 1)
    if due is not _ALL:
        statement = statement.where(Study.__table__.c.id.in_(sorted(due)))
    session.connection().execute(statement)


@event.listens_for(Session, "do_orm_execute")
def _bump_statement(state) -> None:
    statement = state.statement
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(statement, "table", None)
    if getattr(table, "name", None) not in _TABLES:
        return
    result = state.invoke_statement()
    if getattr(result, "rowcount", -1) == 0:
        return result
    bump(state.session, _statement_studies(state))
    return result


def _statement_studies(state) -> set[int] | None:
    """Studies a DML statement touched: given as the execution option ``hwtrial_study_ids``,
    else from its rows' ``study_id`` (or ``participant_id``); None (every study) when unknown."""
    given = state.execution_options.get(STUDY_IDS_OPTION)
    if given is not None:
        return set(given)
    params = state.parameters
    rows = [row for row in (params if isinstance(params, list) else [params or {}]) if isinstance(row, dict)]
    if rows and all(row.get("study_id") is not None for row in rows):
        return {row["study_id"] for row in rows}
    if rows and all(row.get("participant_id") is not None for row in rows):
        pids = sorted({row["participant_id"] for row in rows})
        return set(state.session.connection().execute(
            sa.select(Participant.__table__.c.study_id).distinct()
            .where(Participant.__table__.c.id.in_(pids))).scalars())
    return None


_DUE = "hwtrial_due_bumps"
_ALL = object()


def bump(session: Session, study_ids: set[int] | None) -> None:
    """Increment the data version of these studies (every study when None) in the session's
    transaction: collected now, written just before the transaction commits (one UPDATE
    outside the ORM), dropped if it rolls back."""
    due = session.info.get(_DUE)
    if study_ids is None or due is _ALL:
        session.info[_DUE] = _ALL
    else:
        session.info[_DUE] = (due or set()) | set(study_ids)
    session.info[_WROTE] = True


def results_stamp(session: Session, study_id: int) -> tuple[int, int, int]:
    """``(data version, version in force, highest event id)`` read now: equal stamps mean
    equal results (one query: the study row and a primary-key probe of the event table)."""
    study = Study.__table__
    row = session.execute(sa.select(study.c.data_version, study.c.current_version,
                                    sa.select(sa.func.max(Event.__table__.c.id)).scalar_subquery())
                          .where(study.c.id == study_id)).one()
    return int(row[0] or 0), int(row[1]), int(row[2] or 0)


# A transaction that bumped a version and may still roll back must neither read nor fill a
# cache keyed on it (another transaction could later commit different data under the same
# number): ``bump`` marks the session until its transaction ends.
_WROTE = "hwtrial_bumped_version"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(_DUE, None)


def wrote_this_transaction(session: Session) -> bool:
    """Whether this session's open transaction has (or is about to have, at its next flush)
    bumped a version. Pending changes of other tables (a token's last use, a session row) do
    not count."""
    if session.info.get(_WROTE):
        return True
    return any(type(obj) in WATCHED for obj in (*session.new, *session.dirty, *session.deleted))
