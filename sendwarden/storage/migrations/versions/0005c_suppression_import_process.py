"""suppression_imports.process: the server process (lease owner) running the job

So that the lease sweep can fail the jobs of a process that died instead of
leaving them `running` for ever.

Revision ID: 0005c
Revises: 0005b
Create Date: 2026-11-30 02:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005c"
down_revision = "0005b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suppression_imports") as batch:
        batch.add_column(sa.Column("process", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suppression_imports") as batch:
        batch.drop_column("process")
