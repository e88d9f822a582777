"""dashboard sessions: a server-side row per signed-in browser, so signing out ends it;
replies keep their original text next to the stripped one

Revision ID: 0004f
Revises: 0003
Create Date: 2026-11-29 23:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004f"
down_revision = "0004c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_ui_sessions_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ui_sessions_token_hash")),
    )
    with op.batch_alter_table("ui_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ui_sessions_key_id"), ["key_id"], unique=False)
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_column("original_text")
    with op.batch_alter_table("ui_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ui_sessions_key_id"))
    op.drop_table("ui_sessions")
