"""The outbox is delivered: a state per message, a worker's lease, the study and participant a
message is about; participants get an email address for reminders; decision points log their
local time, study day, why a participant was unavailable, and when the reminder went out.

Messages queued before this revision (safety alerts that were never sent) become ``pending``
and go out on the dispatcher's first run.

Revision ID: 0004_outbox_dispatch
Revises: 0003_homework_closed_index
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_outbox_dispatch"
down_revision = "0003_homework_closed_index"
branch_labels = None
depends_on = None

STATES = "('pending', 'sending', 'sent', 'dead', 'cancelled')"


def upgrade():
    with op.batch_alter_table("hwtrial_outbox") as batch:
        batch.add_column(sa.Column("status", sa.String(10), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))
        batch.create_check_constraint("status", f"status IN {STATES}")
        batch.add_column(sa.Column("study_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("participant_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_hwtrial_outbox_study_id_hwtrial_study", "hwtrial_study",
                                 ["study_id"], ["id"])
        batch.create_foreign_key("fk_hwtrial_outbox_participant_id_hwtrial_participant",
                                 "hwtrial_participant", ["participant_id"], ["id"])
        batch.create_index("ix_hwtrial_outbox_status_due_at", ["status", "due_at"])
        batch.create_index("ix_hwtrial_outbox_study_id_status", ["study_id", "status"])
        batch.create_index("ix_hwtrial_outbox_participant_id", ["participant_id"])
    with op.batch_alter_table("hwtrial_participant") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("reminders_paused_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminders_stopped_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("hwtrial_decision_point") as batch:
        batch.add_column(sa.Column("local_time", sa.String(40), nullable=True))
        batch.add_column(sa.Column("study_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unavailable_reason", sa.String(20), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE hwtrial_outbox SET status = 'sent' WHERE sent_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("hwtrial_decision_point") as batch:
        for column in ("clicked_at", "sent_at", "unavailable_reason", "study_day", "local_time"):
            batch.drop_column(column)
    with op.batch_alter_table("hwtrial_participant") as batch:
        batch.drop_column("reminders_stopped_at")
        batch.drop_column("reminders_paused_until")
        batch.drop_column("email")
    with op.batch_alter_table("hwtrial_outbox") as batch:
        batch.drop_index("ix_hwtrial_outbox_participant_id")
        batch.drop_index("ix_hwtrial_outbox_study_id_status")
        batch.drop_constraint("fk_hwtrial_outbox_participant_id_hwtrial_participant", type_="foreignkey")
        batch.drop_constraint("fk_hwtrial_outbox_study_id_hwtrial_study", type_="foreignkey")
        batch.drop_column("participant_id")
        batch.drop_column("study_id")
        batch.drop_index("ix_hwtrial_outbox_status_due_at")
        batch.drop_constraint("status", type_="check")
        batch.drop_column("claim_token")
        batch.drop_column("lease_until")
        batch.drop_column("status")
