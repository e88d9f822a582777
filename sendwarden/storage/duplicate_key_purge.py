"""Expired duplicate keys are deleted, so the send_keys table does not grow with history.

A key used more than KEY_LIFETIME ago no longer blocks anything (duplicate_keys
treats it as absent), so deleting it changes no decision. Purges run at start-up
and then at most every PURGE_EVERY_SECONDS per process, PURGE_BATCH rows at a
time so that one purge never holds the database writer for long.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.duplicate_keys import KEY_LIFETIME
from sendwarden.storage.models import DuplicateKey, DuplicateKeyState
from sendwarden.storage.types import utcnow

PURGE_EVERY_SECONDS = 600.0
PURGE_BATCH = 5000
_last_purge = float("-inf")


async def purge_expired(session: AsyncSession, *, limit: int = PURGE_BATCH) -> int:
    """Delete up to `limit` keys used before the lifetime; return how many went."""
    expired = (
        select(DuplicateKey.id)
        .where(
            DuplicateKey.state == DuplicateKeyState.USED.value,
            DuplicateKey.used_at <= utcnow() - KEY_LIFETIME,
        )
        .limit(limit)
    )
    # Ids first, then delete by primary key: `id IN (subquery)` lets PostgreSQL
    # pick a hash join that reads the whole table.
    ids = list((await session.scalars(expired)).all())
    if not ids:
        return 0
    await session.execute(delete(DuplicateKey).where(DuplicateKey.id.in_(ids)))
    return len(ids)


async def purge_expired_if_due(session: AsyncSession) -> int:
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_EVERY_SECONDS:
        return 0
    _last_purge = time.monotonic()
    return await purge_expired(session)
