"""send keys: one per (sender, recipient, subject) hash across all users (product.md §3.3)

The 24 h duplicate rule was keyed per user, so five users sending the same subject
to the same recipient from the shared sender address all got through. Where
several users already hold a row for the same hash, the one that still guards a
send is kept: an in-flight reservation first, then the most recently used.

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


def upgrade() -> None:
    op.execute(sa.text(_KEEP_ONE_PER_HASH))
    with op.batch_alter_table("send_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_send_keys_user_id", type_="unique")
        batch_op.create_unique_constraint("uq_send_keys_key_hash", ["key_hash"])


def downgrade() -> None:
    with op.batch_alter_table("send_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_send_keys_key_hash", type_="unique")
        batch_op.create_unique_constraint("uq_send_keys_user_id", ["user_id", "key_hash"])
