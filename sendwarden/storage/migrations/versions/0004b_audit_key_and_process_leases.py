"""keyed audit chain (entries and head record their hash version); process leases

Existing audit entries keep their plain SHA-256 hashes (version 1); `sendwarden
migrate` then seals them under the audit key (storage.audit.seal_legacy_chain).
`process_leases` holds one heartbeat row per serving process, so that the sends
of a process that died are recovered without a restart (storage.leases).

Revision ID: 0004b
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004b"
down_revision = "0004a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("audit_entries", "audit_head"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("chain_version", sa.SmallInteger(), nullable=False, server_default="1")
            )
    op.create_table(
        "process_leases",
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_process_leases")),
    )
    op.create_index(
        op.f("ix_process_leases_heartbeat_at"), "process_leases", ["heartbeat_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_process_leases_heartbeat_at"), table_name="process_leases")
    op.drop_table("process_leases")
    for table in ("audit_entries", "audit_head"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("chain_version")
