"""The exported tables, one declaration each (see :class:`.spec.Table`).

Adding a table is adding one ``register(Table(...))`` here: writers, codebook, blinding,
de-identification, withdrawal filtering and date shifting follow from its columns' types
and flags. Queries are plain SQL over the hwtrial tables, select list in column order,
always filtered by ``:sid``; JSON values are read with the dialect's JSON functions.
"""

from __future__ import annotations

from ..homework.metrics import EVENT_TYPES
from ..models.homework import HOMEWORK_STATES
from ..models.reminder import OUTBOX_STATES
from .spec import ARM_REVEALING, FREE_TEXT, IDENTIFYING, Column, StudyFacts, Table

#: Every declared table, in bundle order.
REGISTRY: dict[str, Table] = {}

ARM = frozenset({ARM_REVEALING})
IDENT = frozenset({IDENTIFYING})
TEXT = frozenset({FREE_TEXT, IDENTIFYING})


def register(table: Table) -> Table:
    if table.name in REGISTRY:
        raise ValueError(f"export table {table.name!r} declared twice")
    REGISTRY[table.name] = table
    return table


def json_field(column: str, key: str, dialect: str) -> str:
    """SQL for one top-level JSON value of a JSON-text column (keys are validated slugs)."""
    if dialect == "postgresql":
        return f"(CAST({column} AS json) ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def json_object(column: str, key: str, dialect: str) -> str:
    """SQL for one nested JSON object of a JSON-text column, as JSON text."""
    if dialect == "postgresql":
        return f"CAST(CAST({column} AS json) -> '{key}' AS text)"
    return f"json_extract({column}, '$.{key}')"


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def arm_code_sql(column: str, facts: StudyFacts) -> str:
    whens = " ".join(f"WHEN {_quote(k)} THEN {_quote(c)}" for k, c in facts.arm_codes.items())
    return f"CASE {column} {whens} END" if whens else "NULL"


def arm_columns(column: str, facts: StudyFacts, source: str) -> list[Column]:
    """The blinded arm code (everyone) and the arm key (callers who may see arms)."""
    arms = facts.definition.get("arms") or []
    codes = {a["code"]: a["code"] for a in arms}
    keys = {a["key"]: a.get("label") or a["key"] for a in arms}
    return [Column("arm_code", "category", "Arm (blinded code)", source, values=codes,
                   sql=arm_code_sql(column, facts)),
            Column("arm_key", "category", "Arm (key; unblinded exports only)", source,
                   values=keys, flags=ARM, sql=column)]


def arm_levels(arm_key: str) -> dict[str, str]:
    """Factor levels of a factorial arm, from its key ``f1=l1|f2=l2`` (normalised form)."""
    return dict(part.split("=", 1) for part in arm_key.split("|") if "=" in part)


def _factor_columns(facts: StudyFacts) -> list[Column]:
    """Per factor of a factorial design: the participant's level and its effect code (+1/-1)."""
    out = []
    arms = [a["key"] for a in facts.definition.get("arms") or []]
    for factor in facts.definition.get("factors") or []:
        fkey = factor["key"]
        levels = [str(lv["key"]) for lv in factor["levels"]]
        case = " ".join(f"WHEN {_quote(a)} THEN {_quote(arm_levels(a)[fkey])}" for a in arms
                        if fkey in arm_levels(a))
        level_sql = f"CASE a.arm_key {case} END" if case else "NULL"
        out.append(Column(f"{fkey[:28]}_lvl", "category", f"Factor {fkey}: level", "hwtrial_allocation.arm_key",
                          values={lv: lv for lv in levels}, flags=ARM, sql=level_sql))
        if len(levels) == 2:
            out.append(Column(f"{fkey[:28]}_eff", "integer", f"Factor {fkey}: effect code (+1 = {levels[1]})",
                              "hwtrial_allocation.arm_key", flags=ARM,
                              sql=f"CASE {level_sql} WHEN {_quote(levels[1])} THEN 1 "
                                  f"WHEN {_quote(levels[0])} THEN -1 END"))
    return out


def covariate_keys(definition) -> list[str]:
    from ..services.results_context import covariate_keys as keys

    return keys(definition)


def _covariate_columns(facts: StudyFacts) -> list[Column]:
    """Strata and cluster covariates, as the results service reads them (stratum first)."""
    levels = {s["key"]: s.get("levels") for s in facts.definition.get("stratification") or []}
    for c in (facts.definition.get("clusters") or {}).get("covariates") or []:
        levels.setdefault(c["key"], c.get("levels"))
    return [Column(k[:32], "string", f"Stratum / cluster covariate {k}"
                   + (f" ({', '.join(map(str, levels[k]))})" if levels.get(k) else ""),
                   f"hwtrial_participant.strata.{k} or hwtrial_cluster.covariates.{k}",
                   sql=lambda d, k=k: f"COALESCE({json_field('p.strata', k, d)}, {json_field('c.covariates', k, d)})")
            for k in covariate_keys(facts.definition)]


_STATUS = {"active": "active", "withdrawn": "withdrawn (stays in ITT)"}


def participant_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_participant"
    return [
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.id", sql="p.id"),
        Column("external_id", "string", "Host platform's participant id", f"{src}.external_id",
               flags=IDENT, sql="p.external_id"),
        Column("email", "string", "Email address", f"{src}.email", flags=IDENT, sql="p.email"),
        *arm_columns("a.arm_key", facts, "hwtrial_allocation.arm_key"),
        *_factor_columns(facts),
        *_covariate_columns(facts),
        Column("cluster", "string", "Cluster (e.g. therapist) key", f"{src}.cluster_key", sql="p.cluster_key"),
        Column("therapist_id", "integer", "Therapist account (pseudonymous number)", f"{src}.therapist_id",
               sql="p.therapist_id"),
        Column("status", "category", "Participation status", f"{src}.status", values=_STATUS, sql="p.status"),
        Column("withdrawn_at", "datetime", "Withdrawal time", f"{src}.withdrawn_at", unit="UTC",
               sql="p.withdrawn_at"),
        Column("enrolled_at", "datetime", "Enrolment time", f"{src}.enrolled_at", unit="UTC", sql="p.enrolled_at"),
        Column("allocated_at", "datetime", "Allocation time", "hwtrial_allocation.allocated_at", unit="UTC",
               sql="a.allocated_at"),
        Column("consent_version", "string", "Version of the consent text last agreed to",
               "hwtrial_consent_record.version",
               sql="(SELECT r.version FROM hwtrial_consent_record r WHERE r.participant_id = p.id "
                   "ORDER BY r.consented_at DESC, r.id DESC LIMIT 1)"),
        Column("locale", "string", "Language of the participant pages", f"{src}.locale", sql="p.locale"),
        Column("timezone", "string", "IANA time zone of schedules", f"{src}.timezone", sql="p.timezone"),
        Column("source", "string", "Where the participant came from (api, prolific, web)", f"{src}.source",
               sql="p.source"),
        Column("source_info", "string", "Recruitment-platform identifiers (JSON)", f"{src}.source_info",
               flags=IDENT, sql="p.source_info"),
        Column("reminders_paused_until", "datetime", "Reminders paused until", f"{src}.reminders_paused_until",
               unit="UTC", flags=ARM, sql="p.reminders_paused_until"),
        Column("reminders_stopped_at", "datetime", "Reminders stopped at", f"{src}.reminders_stopped_at",
               unit="UTC", flags=ARM, sql="p.reminders_stopped_at"),
    ]


register(Table(
    "participants", "One row per enrolled participant: arm, strata, status, consent.",
    participant_columns,
    from_sql="hwtrial_participant p LEFT JOIN hwtrial_allocation a ON a.participant_id = p.id "
             "LEFT JOIN hwtrial_cluster c ON c.study_id = p.study_id AND c.cluster_key = p.cluster_key",
    where_sql="p.study_id = :sid", order_sql="p.id", participant_sql="p.id"))


def allocation_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_allocation"
    return [
        Column("sequence_no", "integer", "Order of the draw within the study (replay order)", f"{src}.sequence_no",
               sql="a.sequence_no"),
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="a.participant_id"),
        *arm_columns("a.arm_key", facts, f"{src}.arm_key"),
        Column("method", "string", "Rule that decided (permuted_blocks, minimisation, ...)", f"{src}.method",
               sql="a.method"),
        Column("probability", "number", "Probability of the arm drawn", f"{src}.probability", flags=ARM,
               sql="a.probability"),
        Column("stratum", "string", "Stratum key ('*' = study-wide)", f"{src}.stratum_key", sql="a.stratum_key"),
        Column("block_no", "integer", "Permuted block number within the stratum", f"{src}.block_no",
               sql="a.block_no"),
        Column("position", "integer", "Position within the block", f"{src}.position", sql="a.position"),
        Column("study_version", "integer", "Study version in force", f"{src}.study_version",
               sql="a.study_version"),
        Column("replay_json", "string", "Replay material besides the seed (e.g. factor levels; JSON)",
               f"{src}.diagnostics.log", sql=lambda d: json_object("a.diagnostics", "log", d)),
        Column("diagnostics_json", "string", "Method diagnostics, e.g. imbalance per arm (JSON)",
               f"{src}.diagnostics", flags=ARM, sql="a.diagnostics"),
        Column("allocated_at", "datetime", "Allocation time", f"{src}.allocated_at", unit="UTC",
               sql="a.allocated_at"),
    ]


register(Table(
    "allocations", "The allocation log: one row per draw, in replay order (the study seed stays on the server).",
    allocation_columns, from_sql="hwtrial_allocation a", where_sql="a.study_id = :sid",
    order_sql="a.sequence_no", participant_sql="a.participant_id"))


def _times(prefix: str, src: str, names: list[tuple[str, str]]) -> list[Column]:
    return [Column(n, "datetime", label, f"{src}.{n}", unit="UTC", sql=f"{prefix}.{n}") for n, label in names]


def homework_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_homework_instance"
    states = {s: s for s in HOMEWORK_STATES}
    return [
        Column("instance_id", "integer", "Homework instance", f"{src}.id", sql="i.id"),
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="i.participant_id"),
        Column("template", "string", "Homework template key", f"{src}.template_key", sql="i.template_key"),
        Column("slot", "string", "Schedule slot key", f"{src}.slot_key", sql="i.slot_key"),
        Column("origin", "category", "Scheduled or assigned ad hoc", f"{src}.origin",
               values={"schedule": "schedule", "adhoc": "ad hoc (therapist)"}, sql="i.origin"),
        Column("state", "category", "Lifecycle state", f"{src}.state", values=states, sql="i.state"),
        *_times("i", src, [("open_at", "Opens"), ("scheduled_at", "Scheduled"), ("due_at", "Due"),
                           ("expire_at", "Expires"), ("delivered_at", "Delivered"), ("opened_at", "First opened"),
                           ("started_at", "Started"), ("submitted_at", "Submitted"), ("expired_at", "Expired")]),
        Column("late", "boolean", "Submitted after the due time", f"{src}.late", sql="i.late"),
        Column("active_seconds", "number", "Focus-aware working time", f"{src}.active_seconds", unit="seconds",
               sql="i.active_seconds"),
        Column("edits", "integer", "De-duplicated field changes", f"{src}.edits", unit="count", sql="i.edits"),
        Column("words", "integer", "Words in the submitted text fields", f"{src}.words", unit="count",
               sql="i.words"),
        Column("effort", "number", "Effort rating, if given", f"{src}.effort", sql="i.effort"),
        Column("self_review_depth", "integer", "Self-review depth (0-3)", f"{src}.self_review_depth",
               flags=ARM, sql="i.self_review_depth"),
        Column("reviewer_role", "category", "Who reviewed the work", f"{src}.reviewer_role", flags=ARM,
               values={"client": "client", "therapist": "therapist"}, sql="i.reviewer_role"),
        Column("reviewed_at", "datetime", "Review time", f"{src}.reviewed_at", unit="UTC", flags=ARM,
               sql="i.reviewed_at"),
        Column("therapist_review_led", "category", "Who led the therapist's review (kept apart from the "
               "client's self-review)", f"{src}.therapist_review_led",
               values={"client": "client-led", "therapist": "therapist-led"}, sql="i.therapist_review_led"),
        Column("therapist_reviewed_by", "integer", "Staff user who recorded the therapist's review",
               f"{src}.therapist_reviewed_by", sql="i.therapist_reviewed_by"),
        Column("therapist_reviewed_at", "datetime", "Therapist's review time", f"{src}.therapist_reviewed_at",
               unit="UTC", sql="i.therapist_reviewed_at"),
        Column("submission_json", "string", "Submitted answers (JSON; free text)", f"{src}.submission",
               flags=TEXT, sql="i.submission"),
        Column("self_review_json", "string", "Self-review answers (JSON; free text)", f"{src}.self_review",
               flags=TEXT | ARM, sql="i.self_review"),
        Column("therapist_review_json", "string", "Therapist's review answers (JSON; free text)",
               f"{src}.therapist_review", flags=TEXT, sql="i.therapist_review"),
        Column("created_at", "datetime", "Row created", f"{src}.created_at", unit="UTC", sql="i.created_at"),
    ]


register(Table(
    "homework", "One row per homework instance: every lifecycle time, the late flag and engagement metrics.",
    homework_columns, from_sql="hwtrial_homework_instance i", where_sql="i.study_id = :sid",
    order_sql="i.id", participant_sql="i.participant_id"))

#: Event types only some arms produce (self-review, reminders, feature exposure).
ARM_EVENT_TYPES = ("feature_exposed", "reminder_clicked", "self_review_answered")


def event_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_event"
    return [
        Column("event_id", "integer", "Event", f"{src}.id", sql="e.id"),
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="e.participant_id"),
        Column("instance_id", "integer", "Homework instance", f"{src}.instance_id", sql="e.instance_id"),
        Column("type", "category", "Event type", f"{src}.type", values={t: t for t in sorted(EVENT_TYPES)},
               sql="e.type"),
        Column("client_time", "datetime", "Time on the client", f"{src}.client_time", unit="UTC",
               sql="e.client_time"),
        Column("server_time", "datetime", "Time received", f"{src}.server_time", unit="UTC", sql="e.server_time"),
        Column("payload_json", "string", "Event payload (JSON; may hold typed text)", f"{src}.payload",
               flags=TEXT | ARM, sql="e.payload"),
    ]


register(Table(
    "events", "Raw engagement events, one row each.", event_columns,
    from_sql="hwtrial_event e", where_sql="e.study_id = :sid", order_sql="e.id",
    participant_sql="e.participant_id",
    blinded_where="e.type NOT IN (" + ", ".join(f"'{t}'" for t in ARM_EVENT_TYPES) + ")",
    notes=("Blinded exports leave out event types only some arms produce: " + ", ".join(ARM_EVENT_TYPES),)))


def _items(facts: StudyFacts) -> list[tuple[str, str]]:
    """(instrument, item) of every instrument of the study, in definition order."""
    out = []
    for inst in (facts.definition.get("questionnaires") or {}).get("instruments") or []:
        out += [(inst["key"], item["key"]) for item in inst.get("items") or []]
    return out


def questionnaire_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_questionnaire_response"
    q = facts.definition.get("questionnaires") or {}
    instruments = {i["key"]: i.get("title") or i["key"] for i in q.get("instruments") or []}
    timepoints = {t["key"]: f"{t['key']} (day {t.get('day')})" for t in q.get("timepoints") or []}
    days = " ".join(f"WHEN {_quote(t['key'])} THEN {int(t['day'])}" for t in q.get("timepoints") or []
                    if t.get("day") is not None)
    items = [Column(item[:32], "number", f"{inst} item {item}", f"{src}.answers.{item}",
                    sql=lambda d, item=item: json_field("q.answers", item, d)) for inst, item in _items(facts)]
    return [
        Column("response_id", "integer", "Questionnaire response", f"{src}.id", sql="q.id"),
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="q.participant_id"),
        Column("instrument", "category", "Instrument", f"{src}.instrument_key", values=instruments or {"-": "-"},
               sql="q.instrument_key"),
        Column("timepoint", "category", "Timepoint", f"{src}.timepoint_key", values=timepoints or {"-": "-"},
               sql="q.timepoint_key"),
        Column("timepoint_day", "integer", "Planned study day of the timepoint", "study file", unit="days",
               sql=f"CASE q.timepoint_key {days} END" if days else "NULL"),
        Column("in_window", "boolean", "Answered inside the timepoint's window", f"{src}.in_window",
               sql="q.in_window"),
        Column("total", "number", "Total score (missing when too many items are missing)", f"{src}.total",
               unit="points", sql="q.total"),
        Column("band", "string", "Severity band of the total", f"{src}.band", sql="q.band"),
        Column("prorated", "boolean", "Total prorated for missing items", f"{src}.prorated", sql="q.prorated"),
        Column("n_missing", "integer", "Items left unanswered", f"{src}.n_missing", unit="items",
               sql="q.n_missing"),
        *items,
        Column("submitted_at", "datetime", "Submission time", f"{src}.submitted_at", unit="UTC",
               sql="q.submitted_at"),
    ]


register(Table(
    "questionnaires", "One row per questionnaire response: items, total, timepoint and window.",
    questionnaire_columns, from_sql="hwtrial_questionnaire_response q", where_sql="q.study_id = :sid",
    order_sql="q.id", participant_sql="q.participant_id"))


def consent_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_consent_record"
    return [
        Column("consent_id", "integer", "Consent record", f"{src}.id", sql="r.id"),
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="r.participant_id"),
        Column("version", "string", "Version of the consent text", f"{src}.version", sql="r.version"),
        Column("text_sha256", "string", "SHA-256 of the text shown", f"{src}.text_sha256", sql="r.text_sha256"),
        Column("locale", "string", "Language of the text", f"{src}.locale", sql="r.locale"),
        Column("method", "string", "How consent was taken (web, api, paper)", f"{src}.method", sql="r.method"),
        Column("consented_at", "datetime", "Consent time", f"{src}.consented_at", unit="UTC",
               sql="r.consented_at"),
    ]


register(Table(
    "consents", "One row per consent given.", consent_columns,
    from_sql="hwtrial_consent_record r JOIN hwtrial_participant p ON p.id = r.participant_id",
    where_sql="p.study_id = :sid", order_sql="r.id", participant_sql="r.participant_id"))


def reminder_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_outbox"
    return [
        Column("reminder_id", "integer", "Outbox message", f"{src}.id", sql="o.id"),
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="o.participant_id"),
        Column("channel", "category", "Channel", f"{src}.channel", values={"email": "email", "webhook": "webhook"},
               sql="o.channel"),
        Column("slot", "string", "Reminder slot", f"{src}.payload.slot",
               sql=lambda d: json_field("o.payload", "slot", d)),
        Column("instance_id", "integer", "Homework instance reminded of", f"{src}.payload.instance_id",
               sql=lambda d: f"CAST({json_field('o.payload', 'instance_id', d)} AS INTEGER)"),
        Column("status", "category", "pending/sending = planned, sent, dead = failed, cancelled", f"{src}.status",
               values={s: s for s in OUTBOX_STATES}, sql="o.status"),
        Column("planned_at", "datetime", "Due (planned) time", f"{src}.due_at", unit="UTC", sql="o.due_at"),
        Column("sent_at", "datetime", "Sent", f"{src}.sent_at", unit="UTC", sql="o.sent_at"),
        Column("attempts", "integer", "Delivery attempts", f"{src}.attempts", sql="o.attempts"),
        Column("last_error", "string", "Last delivery error (may name an address)", f"{src}.last_error",
               flags=TEXT, sql="o.last_error"),
        Column("clicked_at", "datetime", "First click on the reminder's link", "hwtrial_event (reminder_clicked)",
               unit="UTC", sql="(SELECT MIN(e.server_time) FROM hwtrial_event e WHERE e.study_id = o.study_id "
                               "AND e.client_event_id = 'reminder-click:' || CAST(o.id AS TEXT))"),
        Column("created_at", "datetime", "Queued", f"{src}.created_at", unit="UTC", sql="o.created_at"),
    ]


register(Table(
    "reminders", "Reminders from the outbox: planned, sent, failed, clicked (arms differ: unblinded only).",
    reminder_columns, from_sql="hwtrial_outbox o",
    where_sql=lambda d: f"o.study_id = :sid AND {json_field('o.payload', 'kind', d)} = 'reminder'", order_sql="o.id", participant_sql="o.participant_id", arm_revealing=True))


def decision_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_decision_point"
    reasons = {r: r for r in ("quiet_hours", "completed_today", "daily_maximum", "no_open_task", "missed")}
    return [
        Column("participant_id", "integer", "Participant (pseudonymous number)", f"{src}.participant_id",
               sql="d.participant_id"),
        Column("point_index", "integer", "Decision point number (0, 1, ...)", f"{src}.point_index",
               sql="d.point_index"),
        Column("decided_at", "datetime", "Decision time", f"{src}.decided_at", unit="UTC", sql="d.decided_at"),
        Column("available", "boolean", "Available for treatment", f"{src}.available", sql="d.available"),
        Column("unavailable_reason", "category", "Why unavailable", f"{src}.unavailable_reason", values=reasons,
               sql="d.unavailable_reason"),
        Column("probability", "number", "Randomisation probability of treatment", f"{src}.probability",
               sql="d.probability"),
        Column("treated", "boolean", "Reminder sent (missing when unavailable)", f"{src}.treated",
               sql="d.treated"),
        Column("local_time", "string", "Participant's wall time (ISO 8601 with offset)", f"{src}.local_time",
               sql="d.local_time"),
        Column("study_day", "integer", "Day in study (0 = enrolment day)", f"{src}.study_day", unit="days",
               sql="d.study_day"),
        Column("sent_at", "datetime", "Reminder sent (handed to the channel)", f"{src}.sent_at", unit="UTC",
               sql="d.sent_at"),
        Column("delivered_at", "datetime", "Reminder delivered (server accepted it)", f"{src}.delivered_at",
               unit="UTC", sql="d.delivered_at"),
        Column("clicked_at", "datetime", "Reminder clicked", f"{src}.clicked_at", unit="UTC", sql="d.clicked_at"),
    ]


register(Table(
    "decision_points", "Micro-randomised decision points: one row per decision (unblinded only).",
    decision_columns, from_sql="hwtrial_decision_point d", where_sql="d.study_id = :sid",
    order_sql="d.participant_id, d.point_index", participant_sql="d.participant_id", arm_revealing=True))


def cluster_columns(facts: StudyFacts) -> list[Column]:
    src = "hwtrial_cluster"
    return [
        Column("cluster", "string", "Cluster key", f"{src}.cluster_key", sql="c.cluster_key"),
        *arm_columns("c.arm_key", facts, f"{src}.arm_key"),
        Column("probability", "number", "Probability of the arm drawn", f"{src}.probability", flags=ARM,
               sql="c.probability"),
        Column("covariates_json", "string", "Cluster covariates (JSON)", f"{src}.covariates", sql="c.covariates"),
        Column("allocated_at", "datetime", "Allocation time", f"{src}.allocated_at", unit="UTC",
               sql="c.allocated_at"),
    ]


register(Table(
    "clusters", "Randomised clusters (cluster designs): one row per cluster.", cluster_columns,
    from_sql="hwtrial_cluster c", where_sql="c.study_id = :sid", order_sql="c.id", participant_sql=None))
