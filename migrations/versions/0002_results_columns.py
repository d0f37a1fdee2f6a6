"""Results performance: numeric homework metrics as columns, events indexed by study and
participant.

The results service summed ``json_extract(metrics, ...)`` over every closed homework
instance (about 0.5 s on SQLite and 0.9 s on PostgreSQL per million instances); the
columns copy those fields (backfilled here, written by ``HomeworkInstance.set_metrics``).
``(study_id, participant_id)`` lets the per-participant event count read only the index.

Revision ID: 0002_results_columns
Revises: 0001_initial
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_results_columns"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

#: column -> SQL type of the backfill cast (PostgreSQL)
COLUMNS = {"active_seconds": "float8", "edits": "integer", "words": "integer",
           "self_review_depth": "integer", "effort": "float8"}


def _backfill():
    if op.get_bind().dialect.name == "postgresql":
        sets = ", ".join(f"{c} = CAST(CAST(CAST(metrics AS json) ->> '{c}' AS float8) AS {t})"
                         for c, t in COLUMNS.items())
    else:
        sets = ", ".join(f"{c} = json_extract(metrics, '$.{c}')" for c in COLUMNS)
    op.execute(f"UPDATE hwtrial_homework_instance SET {sets} WHERE metrics IS NOT NULL")


def upgrade():
    with op.batch_alter_table('hwtrial_event', schema=None) as batch_op:
        batch_op.create_index('ix_hwtrial_event_study_id_participant_id', ['study_id', 'participant_id'], unique=False)

    with op.batch_alter_table('hwtrial_homework_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('edits', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('words', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('self_review_depth', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('effort', sa.Float(), nullable=True))
    _backfill()


def downgrade():
    with op.batch_alter_table('hwtrial_homework_instance', schema=None) as batch_op:
        batch_op.drop_column('effort')
        batch_op.drop_column('self_review_depth')
        batch_op.drop_column('words')
        batch_op.drop_column('edits')
        batch_op.drop_column('active_seconds')

    with op.batch_alter_table('hwtrial_event', schema=None) as batch_op:
        batch_op.drop_index('ix_hwtrial_event_study_id_participant_id')
