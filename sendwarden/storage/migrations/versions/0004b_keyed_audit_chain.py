"""keyed audit chain: entries and head record their hash version

Existing entries keep their plain SHA-256 hashes (version 1); `sendwarden
migrate` then seals them under the audit key (storage.audit.seal_legacy_chain).

Revision ID: 0004b
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004b"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("audit_entries", "audit_head"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("chain_version", sa.SmallInteger(), nullable=False, server_default="1")
            )


def downgrade() -> None:
    for table in ("audit_entries", "audit_head"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("chain_version")
