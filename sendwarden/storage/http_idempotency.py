"""Storage for the HTTP `Idempotency-Key` replay (Stripe semantics); not the 24 h duplicate rule."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import HttpIdempotencyKey
from sendwarden.storage.types import utcnow

LIFETIME = timedelta(hours=24)
IN_PROGRESS = "in_progress"
DONE = "done"
# Expired keys are purged while claiming, at most this often per process.
PURGE_EVERY_SECONDS = 600.0
_last_purge = float("-inf")


async def purge_expired(session: AsyncSession) -> int:
    """Delete keys past their 24 h lifetime: they can no longer be replayed."""
    result = await session.execute(
        delete(HttpIdempotencyKey).where(HttpIdempotencyKey.created_at <= utcnow() - LIFETIME)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim(
    session: AsyncSession, *, user_id: int, key: str, request_hash: str, owner: str
) -> HttpIdempotencyKey | None:
    """Claim the key for a new request; return the existing row if it is taken and fresh."""
    global _last_purge
    if time.monotonic() - _last_purge > PURGE_EVERY_SECONDS:
        _last_purge = time.monotonic()
        await purge_expired(session)
    existing = await session.scalar(
        select(HttpIdempotencyKey).where(
            HttpIdempotencyKey.user_id == user_id, HttpIdempotencyKey.key == key
        )
    )
    now = utcnow()
    if existing is not None:
        if existing.created_at > now - LIFETIME:
            return existing
        await session.execute(
            delete(HttpIdempotencyKey).where(HttpIdempotencyKey.id == existing.id)
        )
    try:
        async with session.begin_nested():
            session.add(
                HttpIdempotencyKey(
                    user_id=user_id,
                    key=key,
                    request_hash=request_hash,
                    state=IN_PROGRESS,
                    owner=owner,
                    created_at=now,
                )
            )
    except IntegrityError:  # a concurrent request claimed it first
        return await session.scalar(
            select(HttpIdempotencyKey).where(
                HttpIdempotencyKey.user_id == user_id, HttpIdempotencyKey.key == key
            )
        )
    return None


async def complete(
    session: AsyncSession, *, user_id: int, key: str, status: int, body: str
) -> None:
    await session.execute(
        update(HttpIdempotencyKey)
        .where(HttpIdempotencyKey.user_id == user_id, HttpIdempotencyKey.key == key)
        .values(state=DONE, response_status=status, response_body=body)
    )


async def abandon(session: AsyncSession, *, user_id: int, key: str) -> None:
    await session.execute(
        delete(HttpIdempotencyKey).where(
            HttpIdempotencyKey.user_id == user_id,
            HttpIdempotencyKey.key == key,
            HttpIdempotencyKey.state == IN_PROGRESS,
        )
    )


async def release_interrupted(session: AsyncSession, *, owner: str | Sequence[str]) -> int:
    """Crash recovery: requests the given owner(s) were running when they died have
    no response (owners: a host's name, or lease ids of dead processes).

    Freeing their keys lets a client retry; the retry cannot send twice, because
    the interrupted attempt (now `unknown`) still holds its duplicate key.
    """
    owners = [owner] if isinstance(owner, str) else list(owner)
    if not owners:
        return 0
    result = await session.execute(
        delete(HttpIdempotencyKey).where(
            HttpIdempotencyKey.state == IN_PROGRESS, HttpIdempotencyKey.owner.in_(owners)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def in_progress_owners(session: AsyncSession) -> set[str]:
    """Owners (host names, lease ids) of requests still running: a small set."""
    rows = await session.scalars(
        select(HttpIdempotencyKey.owner).where(HttpIdempotencyKey.state == IN_PROGRESS).distinct()
    )
    return {owner for owner in rows.all() if owner is not None}
