"""Staff pages: the study file's own text per version (the amendment diff shows the
coordinator's lines, not a re-serialisation), and indexes for the pages' aggregates.

* ``source_text``: NULL for versions stored before this revision (and for JSON definitions);
  the diff then falls back to the stored definition rendered as YAML.
* the study list: enrolment, homework, questionnaire and audit times per study (a MAX per
  study is one index lookup instead of a scan of the study's rows), participants per status;
* whether the study page's adherence must be recomputed: closed homework counted per state
  (an index-only count per state);
* adherence over time per arm: closed instances in due order (an index-only scan; the
  condition is textually the query's, as SQLite matches partial-index terms literally).

Revision ID: 0006_staff_pages
Revises: 0005_delivery_times
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_staff_pages"
down_revision = "0005_delivery_times"
branch_labels = None
depends_on = None

CLOSED = sa.text("state IN ('submitted', 'expired')")
INDEXES = (
    ("ix_hwtrial_participant_study_id_enrolled_at", "hwtrial_participant", ["study_id", "enrolled_at"], {}),
    ("ix_hwtrial_participant_study_id_status", "hwtrial_participant", ["study_id", "status"], {}),
    ("ix_hwtrial_homework_instance_study_id_submitted_at", "hwtrial_homework_instance",
     ["study_id", "submitted_at"], {}),
    ("ix_hwtrial_questionnaire_response_study_id_submitted_at", "hwtrial_questionnaire_response",
     ["study_id", "submitted_at"], {}),
    ("ix_hwtrial_homework_instance_study_id_state", "hwtrial_homework_instance", ["study_id", "state"], {}),
    ("ix_hwtrial_homework_instance_closed_due", "hwtrial_homework_instance",
     ["study_id", "due_at", "participant_id", "state"],
     {"postgresql_where": CLOSED, "sqlite_where": CLOSED}),
    ("ix_hwtrial_audit_entry_at", "hwtrial_audit_entry", ["at"], {}),
    ("ix_hwtrial_audit_entry_study_key_at", "hwtrial_audit_entry", ["study_key", "at"], {}),
)


def upgrade():
    with op.batch_alter_table("hwtrial_study_version") as batch:
        batch.add_column(sa.Column("source_text", sa.Text(), nullable=True))
    for name, table, columns, where in INDEXES:
        op.create_index(name, table, columns, unique=False, **where)


def downgrade():
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("hwtrial_study_version") as batch:
        batch.drop_column("source_text")
