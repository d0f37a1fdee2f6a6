"""Results performance: a covering partial index for the per-participant homework aggregate.

The results service sums closed instances per participant; without this index PostgreSQL
reads the whole instance table (311 MB at a million instances, about 0.6 s). The index
holds only closed instances and only the aggregated columns (58 MB), in participant
order: an index-only scan feeding a sorted GroupAggregate (about 0.25 s). Its condition
must stay textually equal to the query's (SQLite matches partial-index terms literally).

Revision ID: 0003_homework_closed_index
Revises: 0002_results_columns
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_homework_closed_index"
down_revision = "0002_results_columns"
branch_labels = None
depends_on = None

NAME = "ix_hwtrial_homework_instance_closed_metrics"
CLOSED = sa.text("state IN ('submitted', 'expired')")


def upgrade():
    op.create_index(NAME, "hwtrial_homework_instance",
                    ["study_id", "participant_id", "state", "late", "active_seconds", "edits",
                     "words", "self_review_depth"],
                    unique=False, postgresql_where=CLOSED, sqlite_where=CLOSED)


def downgrade():
    op.drop_index(NAME, table_name="hwtrial_homework_instance")
