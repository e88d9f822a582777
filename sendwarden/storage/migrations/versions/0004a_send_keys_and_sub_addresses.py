"""send keys across users; suppressions matched by mailbox (sub-addresses)

Send keys: one per (sender, recipient, subject) hash across all users (product.md §3.3).

The 24 h duplicate rule was keyed per user, so five users sending the same subject
to the same recipient from the shared sender address all got through. Where
several users already hold a row for the same hash, the one that still guards a
send is kept: an in-flight reservation first, then the most recently used.

Suppressions: email entries get a `mailbox` column, the address without a "+tag"
(sendwarden.policy.mailbox_key), and sends are matched on it, so "editor@x.com"
covers "editor+news@x.com" and the other way round.

Revision ID: 0004a
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004a"
down_revision = "0003"
branch_labels = None
depends_on = None

_KEEP_ONE_PER_HASH = """
DELETE FROM send_keys WHERE id NOT IN (
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (
            PARTITION BY key_hash
            ORDER BY CASE WHEN state = 'in_flight' THEN 0 ELSE 1 END,
                     COALESCE(used_at, created_at) DESC,
                     id DESC
        ) AS rank_in_hash
        FROM send_keys
    ) ranked
    WHERE rank_in_hash = 1
)
"""


def _mailbox(value: str) -> str:
    # mailbox_key of a stored value (already address_key form); copied, not imported,
    # so this migration keeps meaning what it meant when it was written.
    local, _, domain = value.rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


def upgrade() -> None:
    op.execute(sa.text(_KEEP_ONE_PER_HASH))
    with op.batch_alter_table("send_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_send_keys_user_id", type_="unique")
        batch_op.create_unique_constraint("uq_send_keys_key_hash", ["key_hash"])

    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailbox", sa.String(length=320), nullable=True))
        batch_op.create_index("ix_suppressions_mailbox", ["mailbox"], unique=False)
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, value FROM suppressions WHERE kind = 'email'"))
    updates = [{"id": row.id, "mailbox": _mailbox(row.value)} for row in rows]
    if updates:
        bind.execute(sa.text("UPDATE suppressions SET mailbox = :mailbox WHERE id = :id"), updates)


def downgrade() -> None:
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index("ix_suppressions_mailbox")
        batch_op.drop_column("mailbox")
    with op.batch_alter_table("send_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_send_keys_key_hash", type_="unique")
        batch_op.create_unique_constraint("uq_send_keys_user_id", ["user_id", "key_hash"])
