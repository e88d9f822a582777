"""suppression import jobs; indexes so hot-path statements do not scan history

Revision ID: 0004h
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004h"
down_revision = "0004f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppression_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("invalid_count", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_suppression_imports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_imports")),
    )
    op.create_index(
        op.f("ix_suppression_imports_user_id"), "suppression_imports", ["user_id"], unique=False
    )
    # send_keys: the duplicate check filters on key_hash alone (0004a made it unique, which
    # indexes it); mark_used filters on attempt_id.
    op.create_index("ix_send_keys_attempt_id", "send_keys", ["attempt_id"], unique=False)
    # The purges of expired keys: a range on the expiry column, not a scan.
    op.create_index("ix_send_keys_used_at", "send_keys", ["used_at"], unique=False)
    op.create_index("ix_request_keys_created_at", "request_keys", ["created_at"], unique=False)
    # Inbound matching: WHERE lower(recipient_email) = ...
    op.create_index(
        "ix_attempts_lower_recipient", "attempts", [sa.text("lower(recipient_email)")], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        # Prefix search: a range in code point order, whatever the database's collation.
        op.create_index(
            "ix_suppressions_value_c",
            "suppressions",
            [sa.text('(value COLLATE "C")')],
            unique=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_suppressions_value_c", table_name="suppressions")
    op.drop_index("ix_attempts_lower_recipient", table_name="attempts")
    op.drop_index("ix_request_keys_created_at", table_name="request_keys")
    op.drop_index("ix_send_keys_used_at", table_name="send_keys")
    op.drop_index("ix_send_keys_attempt_id", table_name="send_keys")
    op.drop_index(op.f("ix_suppression_imports_user_id"), table_name="suppression_imports")
    op.drop_table("suppression_imports")
