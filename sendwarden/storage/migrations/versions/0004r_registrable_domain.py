"""attempts: name columns for what they hold (registrable_domain, duplicate_key)

`recipient_domain` always held the registrable domain the domain cap counts,
and `idempotency_key` the 24 h duplicate key (not the HTTP Idempotency-Key).

Revision ID: 0004r
Revises: 0004g
Create Date: 2026-11-29 23:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0004r"
down_revision = "0004g"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("recipient_domain", new_column_name="registrable_domain")
        batch_op.alter_column("idempotency_key", new_column_name="duplicate_key")


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("registrable_domain", new_column_name="recipient_domain")
        batch_op.alter_column("duplicate_key", new_column_name="idempotency_key")
