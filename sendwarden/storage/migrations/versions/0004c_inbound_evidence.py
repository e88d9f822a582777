"""inbound evidence: why a suppression/bounce/incident happened; leads flagged for review

Revision ID: 0004c
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004c"
down_revision = "0004b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.Text(), nullable=True))
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("explanation", sa.Text(), nullable=True))
    with op.batch_alter_table("sender_incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("inbound_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("explanation", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sender_incidents", schema=None) as batch_op:
        batch_op.drop_column("explanation")
        batch_op.drop_column("inbound_message_id")
        batch_op.drop_column("recipient")
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.drop_column("explanation")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_column("evidence")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("review_reason")
