"""SQL aggregation for the results service: one row per participant, never one per event.

Every query groups in the database (``GROUP BY participant_id``) and returns plain pandas
tables, so memory grows with participants and never with homework instances or events.
Homework metrics are summed from their column copies (``HomeworkInstance.set_metrics``),
not parsed from the JSON document per row; stratum covariates (one row per participant)
are read with the dialect's JSON functions. Rows come from the DBAPI cursor, not as
SQLAlchemy ``Row`` objects (:func:`fetch_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Study
from ..models.homework import CLOSED_STATES
from .results_parallel import run_queries

#: Numeric metrics summed per participant over closed homework instances.
SUMMED_METRICS = ("active_seconds", "edits", "words")
#: Hours after a decision point in which a submission counts as the MRT proximal outcome.
PROXIMAL_WINDOW_HOURS = 2
# CLOSED_STATES: instance states whose outcome is known, the denominator of adherence. A
# scheduled or open instance may still be done, so counting it as missed would bias
# adherence down. The partial index ix_hwtrial_homework_instance_closed_metrics has the
# same condition, so the aggregate below reads only that index.


@dataclass(frozen=True)
class StudyTables:
    """What the results service analyses, as plain tables.

    Attributes
    ----------
    participants : DataFrame
        One row per randomised participant: ``participant_id``, ``arm_key``, ``status``,
        ``exclude_data``, ``cluster``, ``therapist_id``, one column per stratum / cluster
        covariate key, and the homework aggregates ``n_assigned``, ``n_completed``,
        ``n_on_time``, ``active_seconds``, ``edits``, ``words``, ``self_review_depth``,
        ``n_events`` (0 or NaN when a participant has none).
    scores : DataFrame
        Questionnaire totals, one row per participant with a response: ``participant_id``
        and one column ``"instrument@timepoint"`` per analysed pair.
    clusters : dict
        Randomised clusters per arm key (cluster studies; empty otherwise).
    decision_points : DataFrame or None
        Micro-randomised studies: one row per decision point with ``participant_id``,
        ``available``, ``probability``, ``treated`` and the proximal ``outcome`` (0/1).
    """

    participants: pd.DataFrame
    scores: pd.DataFrame
    clusters: dict
    decision_points: pd.DataFrame | None


@dataclass(frozen=True)
class ResultsInput:
    """Everything a results document is computed from, loaded from the database
    (:func:`load_input`) or from an export bundle (:mod:`hwtrial.exports.offline`).

    Attributes
    ----------
    study, title : str
        Study key and title.
    version : int
        Study version in force.
    definition : dict
        The normalised study definition.
    tables : StudyTables
        The per-participant tables.
    """

    study: str
    title: str
    version: int
    definition: dict
    tables: StudyTables


def fetch_frame(session: Session, sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    """One query's rows as a DataFrame, read from the DBAPI cursor.

    ``Result.all()`` builds a SQLAlchemy ``Row`` per row and pandas then probes each one for
    named-tuple fields: about 2 s per 100,000 rows x 4 queries. Plain tuples from the driver
    go into pandas' C constructor directly.
    """
    result = session.execute(sa.text(sql), params)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)


def _json_field(column: str, key: str, dialect: str) -> str:
    """SQL for one top-level JSON value of a JSON-text column (keys are validated slugs)."""
    if dialect == "postgresql":
        return f"(CAST({column} AS json) ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def participant_rows(session: Session, study: Study, covariate_keys: list[str]) -> pd.DataFrame:
    """Randomised participants with arm, status and covariates (one SQL query)."""
    dialect = session.get_bind().dialect.name
    covs = "".join(
        f", COALESCE({_json_field('p.strata', k, dialect)}, {_json_field('c.covariates', k, dialect)})"
        f' AS "{k}"' for k in covariate_keys)
    sql = f"""
        SELECT p.id AS participant_id, a.arm_key, p.status, p.exclude_data,
               p.cluster_key AS cluster, p.therapist_id{covs}
        FROM hwtrial_participant p
        JOIN hwtrial_allocation a ON a.participant_id = p.id
        LEFT JOIN hwtrial_cluster c ON c.study_id = p.study_id AND c.cluster_key = p.cluster_key
        WHERE p.study_id = :sid ORDER BY p.id"""
    cols = ["participant_id", "arm_key", "status", "exclude_data", "cluster", "therapist_id",
            *covariate_keys]
    df = fetch_frame(session, sql, {"sid": study.id}, cols)
    df["exclude_data"] = df["exclude_data"].astype(bool)
    return df


def _instance_sql() -> str:
    closed = ", ".join(f"'{s}'" for s in CLOSED_STATES)
    sums = "".join(f", SUM(i.{k})" for k in SUMMED_METRICS)
    return f"""SELECT i.participant_id, COUNT(*),
               SUM(CASE WHEN i.state = 'submitted' THEN 1 ELSE 0 END),
               SUM(CASE WHEN i.state = 'submitted' AND NOT i.late THEN 1 ELSE 0 END){sums},
               AVG(CASE WHEN i.state = 'submitted' THEN i.self_review_depth END)
            FROM hwtrial_homework_instance i
            WHERE i.study_id = :sid AND i.state IN ({closed}) GROUP BY i.participant_id"""


def homework_aggregates(session: Session, study: Study) -> pd.DataFrame:
    """Per participant: closed, completed and on-time instances and summed metrics."""
    cols = ["participant_id", "n_assigned", "n_completed", "n_on_time", *SUMMED_METRICS,
            "self_review_depth"]
    df = fetch_frame(session, _instance_sql(), {"sid": study.id}, cols)
    return df.astype({c: float for c in cols[4:]})


def event_counts(session: Session, study: Study, blinded: bool = False) -> pd.DataFrame:
    """Events per participant, counted in one grouped pass over the event table.

    ``blinded``: only event types every arm produces (as a blinded export holds them)."""
    from ..exports.tables import ARM_EVENT_TYPES

    only = (" AND type NOT IN (" + ", ".join(f"'{t}'" for t in ARM_EVENT_TYPES) + ")") if blinded else ""
    sql = ("SELECT participant_id, COUNT(*) FROM hwtrial_event "
           f"WHERE study_id = :sid{only} GROUP BY participant_id")
    return fetch_frame(session, sql, {"sid": study.id}, ["participant_id", "n_events"])


def score_rows(session: Session, study: Study, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Questionnaire totals pivoted in SQL: one row per participant, one column per
    ``(instrument, timepoint)`` pair, named ``"instrument@timepoint"``."""
    names = [f"{i}@{t}" for i, t in pairs]
    if not pairs:
        return pd.DataFrame(columns=["participant_id"])
    cols = "".join(
        f", MAX(CASE WHEN instrument_key = :i{k} AND timepoint_key = :t{k} THEN total END)"
        for k in range(len(pairs)))
    params = {"sid": study.id, **{f"i{k}": i for k, (i, _) in enumerate(pairs)},
              **{f"t{k}": t for k, (_, t) in enumerate(pairs)}}
    sql = (f"SELECT participant_id{cols} FROM hwtrial_questionnaire_response "
           "WHERE study_id = :sid GROUP BY participant_id")
    df = fetch_frame(session, sql, params, ["participant_id", *names])
    return df.astype({n: float for n in names})


def cluster_counts(session: Session, study: Study) -> dict:
    """Randomised clusters per arm key."""
    sql = sa.text("SELECT arm_key, COUNT(*) FROM hwtrial_cluster WHERE study_id = :sid "
                  "GROUP BY arm_key")
    return {arm: int(n) for arm, n in session.execute(sql, {"sid": study.id}).all()}


def decision_point_rows(session: Session, study: Study,
                        window_hours: float = PROXIMAL_WINDOW_HOURS) -> pd.DataFrame:
    """Decision points with the proximal outcome: a submission within ``window_hours``."""
    if session.get_bind().dialect.name == "postgresql":
        within = ("i.submitted_at > d.decided_at AND "
                  "i.submitted_at <= d.decided_at + make_interval(secs => :secs)")
    else:
        within = ("julianday(i.submitted_at) > julianday(d.decided_at) AND "
                  "julianday(i.submitted_at) <= julianday(d.decided_at) + :secs / 86400.0")
    sql = f"""
        SELECT d.participant_id, d.available, d.probability, d.treated, d.study_day,
               CASE WHEN EXISTS (SELECT 1 FROM hwtrial_homework_instance i
                     WHERE i.participant_id = d.participant_id AND i.submitted_at IS NOT NULL
                       AND {within}) THEN 1 ELSE 0 END,
               CASE WHEN d.sent_at IS NOT NULL THEN 1 ELSE 0 END,
               CASE WHEN d.delivered_at IS NOT NULL THEN 1 ELSE 0 END,
               CASE WHEN d.clicked_at IS NOT NULL THEN 1 ELSE 0 END
        FROM hwtrial_decision_point d WHERE d.study_id = :sid"""
    df = fetch_frame(session, sql, {"sid": study.id, "secs": float(window_hours) * 3600},
                     ["participant_id", "available", "probability", "treated", "study_day", "outcome",
                      "sent", "delivered", "clicked"])
    df["available"] = df["available"].astype(int)
    df["treated"] = df["treated"].astype(float).fillna(0).astype(int)
    return df


def load_tables(session: Session, study: Study, *, covariate_keys: list[str],
                score_pairs: list[tuple[str, str]], micro_randomised: bool,
                proximal_window_hours: float = PROXIMAL_WINDOW_HOURS, blinded: bool = False) -> StudyTables:
    """Run every aggregate query of one results call and join them per participant.

    On PostgreSQL the two big scans (homework instances, events) each get a connection of
    their own and the small queries share a third (:mod:`.results_parallel`).
    """
    small = {"people": lambda s: participant_rows(s, study, covariate_keys),
             "scores": lambda s: score_rows(s, study, score_pairs),
             "clusters": lambda s: cluster_counts(s, study),
             "dps": lambda s: decision_point_rows(s, study, proximal_window_hours) if micro_randomised else None}
    got = run_queries(session, [{"work": lambda s: homework_aggregates(s, study)},
                                {"events": lambda s: event_counts(s, study, blinded)}, small])
    people = got["people"].merge(got["work"], on="participant_id", how="left")
    people = people.merge(got["events"], on="participant_id", how="left")
    for col in ("n_assigned", "n_completed", "n_on_time", "n_events"):
        people[col] = people[col].fillna(0).astype(np.int64)
    return StudyTables(people, got["scores"], got["clusters"], got["dps"])


def load_input(session: Session, study: Study, *, micro_randomised: bool,
               blinded: bool = False) -> ResultsInput:
    """The results input of ``study`` from the database (read only); ``blinded``: what a
    blinded caller's document reads (see :func:`event_counts`)."""
    from .results_context import covariate_keys, proximal_window_hours, score_pairs

    definition = study.definition
    tables = load_tables(session, study, covariate_keys=covariate_keys(definition),
                         score_pairs=score_pairs(definition), micro_randomised=micro_randomised,
                         proximal_window_hours=proximal_window_hours(definition), blinded=blinded)
    return ResultsInput(study.key, study.title, study.current_version, definition, tables)
