"""Duplicate keys (the 24 h rule of policy.duplicates): reserved (in flight) before
SMTP, used after, released on failure.

A key is the hash of (effective sender, recipient, subject) and is unique across all
users (product.md §3.3): the recipient sees one sender, whoever asked to send.
`user_id` records whose attempt holds the key; it is never part of a lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy.duplicates import Duplicate
from sendwarden.storage.dialect import dialect_name, table_of
from sendwarden.storage.models import DuplicateKey, DuplicateKeyState
from sendwarden.storage.types import utcnow

KEY_LIFETIME = timedelta(hours=24)


_KEYS = table_of(DuplicateKey)


def _reserve(insert: Any) -> Any:
    stmt = insert(_KEYS).values(
        user_id=bindparam("user_id"),
        key_hash=bindparam("key_hash"),
        state=DuplicateKeyState.IN_FLIGHT.value,
        attempt_id=bindparam("attempt_id"),
        created_at=bindparam("now"),
        used_at=None,
    )
    return stmt.on_conflict_do_update(
        index_elements=["key_hash"],
        set_={
            "user_id": bindparam("user_id"),
            "state": DuplicateKeyState.IN_FLIGHT.value,
            "attempt_id": bindparam("attempt_id"),
            "created_at": bindparam("now"),
            "used_at": None,
        },
        where=(_KEYS.c.state == DuplicateKeyState.USED.value)
        & (_KEYS.c.used_at <= bindparam("expired_before")),
    ).returning(_KEYS.c.id)


def _reserve_many(insert: Any) -> Any:
    """_reserve for executemany: what a conflict writes comes from its own row
    (`excluded`, where state and used_at are in flight and NULL as well). A
    constant NULL in the SET, or one in VALUES, makes SQLAlchemy run one
    statement per row instead of one multi-row statement."""
    stmt = insert(_KEYS).values(
        user_id=bindparam("user_id"),
        key_hash=bindparam("key_hash"),
        state=bindparam("state"),
        attempt_id=bindparam("attempt_id"),
        created_at=bindparam("now"),
        used_at=bindparam("used_at"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["key_hash"],
        set_={
            "user_id": stmt.excluded.user_id,
            "state": stmt.excluded.state,
            "attempt_id": stmt.excluded.attempt_id,
            "created_at": stmt.excluded.created_at,
            "used_at": stmt.excluded.used_at,
        },
        where=(_KEYS.c.state == DuplicateKeyState.USED.value)
        & (_KEYS.c.used_at <= bindparam("expired_before")),
    ).returning(_KEYS.c.id)


# Built once: these run on every send (see storage.daily_caps).
_RESERVE = {"postgresql": _reserve(pg_insert), "sqlite": _reserve(sqlite_insert)}
_RESERVE_MANY = {"postgresql": _reserve_many(pg_insert), "sqlite": _reserve_many(sqlite_insert)}
_STATE = select(_KEYS.c.state, _KEYS.c.used_at).where(_KEYS.c.key_hash == bindparam("key_hash"))
# Not named "attempt_id": an UPDATE reserves its columns' names for SET values.
_IN_FLIGHT_OF_ATTEMPT = (_KEYS.c.attempt_id == bindparam("of_attempt")) & (
    _KEYS.c.state == DuplicateKeyState.IN_FLIGHT.value
)
_MARK_USED = (
    update(_KEYS)
    .where(_IN_FLIGHT_OF_ATTEMPT)
    .values(state=DuplicateKeyState.USED.value, used_at=bindparam("now"))
)
_RELEASE = delete(_KEYS).where(_IN_FLIGHT_OF_ATTEMPT)


_STATES = select(_KEYS.c.key_hash, _KEYS.c.state, _KEYS.c.used_at).where(
    _KEYS.c.key_hash.in_(bindparam("key_hashes", expanding=True))
)


def _duplicate(state: str, used_at: datetime | None, now: datetime) -> Duplicate:
    if state == DuplicateKeyState.IN_FLIGHT:
        return "in_flight"
    if used_at is not None and used_at > now - KEY_LIFETIME:
        return "sent"
    return None


async def duplicate_state(
    session: AsyncSession, key_hash: str, now: datetime | None = None
) -> Duplicate:
    row = (await session.execute(_STATE, {"key_hash": key_hash})).first()
    return None if row is None else _duplicate(row.state, row.used_at, now or utcnow())


async def duplicate_states(
    session: AsyncSession, key_hashes: Iterable[str], now: datetime
) -> dict[str, Duplicate]:
    """duplicate_state of many keys in one query; absent means None."""
    wanted = sorted(set(key_hashes))
    if not wanted:
        return {}
    rows = await session.execute(_STATES, {"key_hashes": wanted})
    return {row.key_hash: _duplicate(row.state, row.used_at, now) for row in rows}


async def try_reserve(
    session: AsyncSession, *, user_id: int, key_hash: str, attempt_id: int
) -> bool:
    """Take the key for this attempt unless it is in flight or was used within 24 h,
    by this user or any other."""
    now = utcnow()
    params = {
        "user_id": user_id,
        "key_hash": key_hash,
        "attempt_id": attempt_id,
        "now": now,
        "expired_before": now - KEY_LIFETIME,
    }
    result = await session.execute(_RESERVE[dialect_name(session)], params)
    return result.scalar_one_or_none() is not None


async def try_reserve_many(session: AsyncSession, *, keys: Sequence[tuple[int, str, int]]) -> bool:
    """try_reserve for each (user id, key hash, attempt id), with one statement.

    True when every key was taken. False when any was not (or a key repeats):
    then some may have been taken, so run this inside a savepoint and roll it
    back on False. Rows are written in key order, so that two batches wait for
    each other's keys in one order.
    """
    if len({key_hash for _, key_hash, _ in keys}) != len(keys):
        return False  # one statement may not write a row twice (PostgreSQL)
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "key_hash": key_hash,
            "state": DuplicateKeyState.IN_FLIGHT.value,
            "attempt_id": attempt_id,
            "now": now,
            "used_at": None,
            "expired_before": now - KEY_LIFETIME,
        }
        for user_id, key_hash, attempt_id in sorted(keys, key=lambda k: k[1])
    ]
    # executemany of the prepared upsert: one multi-row statement, compiled once.
    taken = (await session.execute(_RESERVE_MANY[dialect_name(session)], rows)).all()
    return len(taken) == len(rows)


async def mark_used(session: AsyncSession, *, attempt_ids: Sequence[int]) -> None:
    """Mark the in-flight keys of these delivered attempts as used (one statement)."""
    if not attempt_ids:
        return
    now = utcnow()
    await session.execute(_MARK_USED, [{"of_attempt": a, "now": now} for a in attempt_ids])


async def release(session: AsyncSession, *, attempt_id: int) -> None:
    await session.execute(_RELEASE, {"of_attempt": attempt_id})
