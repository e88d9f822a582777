"""Policy idempotency keys: reserved (in flight) before SMTP, used after, released on failure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import dialect_name
from sendwarden.storage.models import SendKey, SendKeyState
from sendwarden.storage.types import utcnow

KEY_LIFETIME = timedelta(hours=24)


async def duplicate_state(
    session: AsyncSession, user_id: int, key_hash: str, now: datetime | None = None
) -> Literal["sent", "in_flight"] | None:
    now = now or utcnow()
    row = await session.scalar(
        select(SendKey).where(SendKey.user_id == user_id, SendKey.key_hash == key_hash)
    )
    if row is None:
        return None
    if row.state == SendKeyState.IN_FLIGHT:
        return "in_flight"
    if row.used_at is not None and row.used_at > now - KEY_LIFETIME:
        return "sent"
    return None


async def try_reserve(
    session: AsyncSession, *, user_id: int, key_hash: str, attempt_id: int
) -> bool:
    """Take the key for this attempt unless it is in flight or was used within 24 h."""
    now = utcnow()
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    stmt = insert(SendKey).values(
        user_id=user_id,
        key_hash=key_hash,
        state=SendKeyState.IN_FLIGHT.value,
        attempt_id=attempt_id,
        created_at=now,
        used_at=None,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["user_id", "key_hash"],
        set_={
            "state": SendKeyState.IN_FLIGHT.value,
            "attempt_id": attempt_id,
            "created_at": now,
            "used_at": None,
        },
        where=(SendKey.state == SendKeyState.USED.value) & (SendKey.used_at <= now - KEY_LIFETIME),
    ).returning(SendKey.id)
    return (await session.execute(upsert)).scalar_one_or_none() is not None


async def mark_used(session: AsyncSession, *, attempt_id: int) -> None:
    await session.execute(
        update(SendKey)
        .where(SendKey.attempt_id == attempt_id, SendKey.state == SendKeyState.IN_FLIGHT.value)
        .values(state=SendKeyState.USED.value, used_at=utcnow())
    )


async def release(session: AsyncSession, *, attempt_id: int) -> None:
    await session.execute(
        delete(SendKey).where(
            SendKey.attempt_id == attempt_id, SendKey.state == SendKeyState.IN_FLIGHT.value
        )
    )
