"""Therapist workspace: how a homework was tailored for a client, and a caseload index.

``hwtrial_homework_tailoring`` keeps, per tailored or ad hoc instance, the texts the
therapist started from, the changed texts and one change per edited key (a research
variable: which adaptations were made, for whom, by whom, when). The caseload lists a
therapist's clients across studies, so participants get an index on ``therapist_id``.

Revision ID: 0007_homework_tailoring
Revises: 0006_staff_pages
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_homework_tailoring"
down_revision = "0006_staff_pages"
branch_labels = None
depends_on = None

T = "hwtrial_homework_tailoring"


def upgrade():
    op.create_table(
        T,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("template_key", sa.String(80), nullable=False),
        sa.Column("locale", sa.String(20), nullable=False),
        sa.Column("tailored_by", sa.Integer(), nullable=False),
        sa.Column("tailored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("tailored", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["hwtrial_homework_instance.id"],
                                name=op.f(f"fk_{T}_instance_id_hwtrial_homework_instance")),
        sa.ForeignKeyConstraint(["study_id"], ["hwtrial_study.id"], name=op.f(f"fk_{T}_study_id_hwtrial_study")),
        sa.ForeignKeyConstraint(["participant_id"], ["hwtrial_participant.id"],
                                name=op.f(f"fk_{T}_participant_id_hwtrial_participant")),
        sa.ForeignKeyConstraint(["tailored_by"], ["hwtrial_user.id"], name=op.f(f"fk_{T}_tailored_by_hwtrial_user")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{T}")),
        sa.UniqueConstraint("instance_id", name=op.f(f"uq_{T}_instance_id")),
    )
    op.create_index(op.f(f"ix_{T}_study_id"), T, ["study_id"])
    op.create_index(op.f(f"ix_{T}_participant_id"), T, ["participant_id"])
    op.create_index(op.f("ix_hwtrial_participant_therapist_id"), "hwtrial_participant", ["therapist_id"])


def downgrade():
    op.drop_index(op.f("ix_hwtrial_participant_therapist_id"), table_name="hwtrial_participant")
    op.drop_index(op.f(f"ix_{T}_participant_id"), table_name=T)
    op.drop_index(op.f(f"ix_{T}_study_id"), table_name=T)
    op.drop_table(T)
