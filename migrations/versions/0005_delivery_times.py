"""Deliveries record when the channel acknowledged them: ``delivered_at`` on outbox rows and on
micro-randomised decision points (``sent_at`` = handed to the channel, ``delivered_at`` = the
SMTP server accepted the message or the webhook receiver answered 2xx).

Revision ID: 0005_delivery_times
Revises: 0004_outbox_dispatch
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_delivery_times"
down_revision = "0004_outbox_dispatch"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hwtrial_outbox") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("hwtrial_decision_point") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    # Rows sent before this revision were acknowledged when they were recorded sent.
    op.execute("UPDATE hwtrial_outbox SET delivered_at = sent_at WHERE status = 'sent'")
    op.execute("UPDATE hwtrial_decision_point SET delivered_at = sent_at WHERE sent_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("hwtrial_decision_point") as batch:
        batch.drop_column("delivered_at")
    with op.batch_alter_table("hwtrial_outbox") as batch:
        batch.drop_column("delivered_at")
