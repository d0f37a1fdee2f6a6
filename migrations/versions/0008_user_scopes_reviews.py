"""Study scopes on user accounts, the therapist's review kept apart from the client's
self-review, and a per-study data version for the results cache.

* ``hwtrial_user.study_keys``: studies a staff account may touch (NULL: every study), the
  same JSON list tokens have; a token of a scoped user is limited to both scopes.
* ``hwtrial_homework_instance.therapist_review`` (+ ``_led``, ``_by``, ``_at``): the review
  a therapist records on the staff pages / API. Until now it was written over the client's
  own self-review (``self_review``, ``reviewer_role``, ``reviewed_at``); client- vs
  therapist-led review is a research question, so both are kept. Rows a staff user had
  reviewed (``reviewed_by`` set) move to the new columns; their self-review was already
  overwritten and cannot be recovered, so those columns are cleared. ``reviewed_by`` is no
  longer written (a self-review has no staff author).
* ``hwtrial_study.data_version``: bumped in the same transaction as every write that can
  change results (:mod:`hwtrial.models.data_version`).

Revision ID: 0008_user_scopes_reviews
Revises: 0007_homework_tailoring
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_user_scopes_reviews"
down_revision = "0007_homework_tailoring"
branch_labels = None
depends_on = None

HW = "hwtrial_homework_instance"


def upgrade():
    with op.batch_alter_table("hwtrial_user") as batch:
        batch.add_column(sa.Column("study_keys", sa.Text(), nullable=True))
    with op.batch_alter_table("hwtrial_study") as batch:
        batch.add_column(sa.Column("data_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column(HW, sa.Column("therapist_review", sa.Text(), nullable=True))
    op.add_column(HW, sa.Column("therapist_review_led", sa.String(10), nullable=True))
    op.add_column(HW, sa.Column("therapist_reviewed_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place; rebuilding the table (batch mode)
        # is refused while events and tailorings point at it.
        op.execute(f"ALTER TABLE {HW} ADD COLUMN therapist_reviewed_by INTEGER "
                   f"CONSTRAINT fk_{HW}_therapist_reviewed_by_hwtrial_user REFERENCES hwtrial_user (id)")
    else:
        op.add_column(HW, sa.Column("therapist_reviewed_by", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f"fk_{HW}_therapist_reviewed_by_hwtrial_user"), HW, "hwtrial_user",
                              ["therapist_reviewed_by"], ["id"])
    op.execute(f"UPDATE {HW} SET therapist_review = self_review, therapist_review_led = reviewer_role, "
               "therapist_reviewed_by = reviewed_by, therapist_reviewed_at = reviewed_at "
               "WHERE reviewed_by IS NOT NULL")
    op.execute(f"UPDATE {HW} SET self_review = NULL, reviewer_role = NULL, reviewed_at = NULL, "
               "reviewed_by = NULL WHERE reviewed_by IS NOT NULL")


def downgrade():
    # Back to one set of columns: the therapist's review wins where both exist (as before).
    op.execute(f"UPDATE {HW} SET self_review = therapist_review, reviewer_role = therapist_review_led, "
               "reviewed_by = therapist_reviewed_by, reviewed_at = therapist_reviewed_at "
               "WHERE therapist_reviewed_by IS NOT NULL")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(f"fk_{HW}_therapist_reviewed_by_hwtrial_user"), HW, type_="foreignkey")
    for column in ("therapist_reviewed_by", "therapist_reviewed_at", "therapist_review_led", "therapist_review"):
        op.drop_column(HW, column)  # SQLite >= 3.35 drops a column in place
    with op.batch_alter_table("hwtrial_study") as batch:
        batch.drop_column("data_version")
    with op.batch_alter_table("hwtrial_user") as batch:
        batch.drop_column("study_keys")
