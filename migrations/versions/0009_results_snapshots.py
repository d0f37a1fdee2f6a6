"""Computed results kept in the database (``hwtrial_results_snapshot``): shared by every
worker process, and refreshed in the background when a computation is slow, so the
statistician's results page answers at once for a large study.

Revision ID: 0009_results_snapshots
Revises: 0008_user_scopes_reviews
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op


revision = "0009_results_snapshots"
down_revision = "0008_user_scopes_reviews"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hwtrial_results_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(400), nullable=False),
        sa.Column("stamp", sa.String(120), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compute_ms", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["hwtrial_study.id"], ondelete="CASCADE",
                                name=op.f("fk_hwtrial_results_snapshot_study_id_hwtrial_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hwtrial_results_snapshot")),
        sa.UniqueConstraint("study_id", "part", name=op.f("uq_hwtrial_results_snapshot_study_id_part")),
    )


def downgrade():
    op.drop_table("hwtrial_results_snapshot")
