"""Daily send counters and the atomic two-slot reservation.

A reservation increments the user's counter and the recipient domain's
counter for one day with conditional upserts (`count < cap`). Both run in the
caller's transaction: if the second fails the caller rolls back and the first
is undone, so a domain-cap block never consumes a user slot. On PostgreSQL
`ON CONFLICT DO UPDATE ... WHERE` locks the row and re-checks the condition
against the latest committed count, so concurrent reservations cannot
overshoot the cap; on SQLite the write lock taken at BEGIN serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import dialect_name
from sendwarden.storage.models import DailyCounter

Scope = Literal["user", "domain"]
USER_SCOPE_KEY = ""


@dataclass(frozen=True)
class Reservation:
    ok: bool
    blocked_by: Scope | None
    user_count: int
    domain_count: int


async def try_increment(
    session: AsyncSession, *, user_id: int, scope: Scope, key: str, day: str, cap: int
) -> int | None:
    """Increment one counter if it is below `cap`; return the new count, or None if full."""
    if cap <= 0:
        return None
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    stmt = insert(DailyCounter).values(
        user_id=user_id, scope=scope, scope_key=key, day=day, count=1
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["user_id", "scope", "scope_key", "day"],
        set_={"count": DailyCounter.count + 1},
        where=DailyCounter.count < cap,
    ).returning(DailyCounter.count)
    return (await session.execute(upsert)).scalar_one_or_none()


async def reserve_slots(
    session: AsyncSession, *, user_id: int, domain: str, day: str, user_cap: int, domain_cap: int
) -> Reservation:
    """Reserve one user slot and one domain slot. On failure the caller MUST roll back."""
    user_count = await try_increment(
        session, user_id=user_id, scope="user", key=USER_SCOPE_KEY, day=day, cap=user_cap
    )
    if user_count is None:
        return Reservation(
            False, "user", user_cap, await read(session, user_id, "domain", domain, day)
        )
    domain_count = await try_increment(
        session, user_id=user_id, scope="domain", key=domain, day=day, cap=domain_cap
    )
    if domain_count is None:
        return Reservation(False, "domain", user_count - 1, domain_cap)
    return Reservation(True, None, user_count, domain_count)


async def read(session: AsyncSession, user_id: int, scope: Scope, key: str, day: str) -> int:
    count = await session.scalar(
        select(DailyCounter.count).where(
            DailyCounter.user_id == user_id,
            DailyCounter.scope == scope,
            DailyCounter.scope_key == key,
            DailyCounter.day == day,
        )
    )
    return int(count or 0)


async def read_pair(session: AsyncSession, user_id: int, domain: str, day: str) -> tuple[int, int]:
    """Today's user count and domain count in one query (policy reads them on every send)."""
    rows = await session.execute(
        select(DailyCounter.scope, DailyCounter.count).where(
            DailyCounter.user_id == user_id,
            DailyCounter.day == day,
            or_(
                (DailyCounter.scope == "user") & (DailyCounter.scope_key == USER_SCOPE_KEY),
                (DailyCounter.scope == "domain") & (DailyCounter.scope_key == domain),
            ),
        )
    )
    counts = {scope: int(count) for scope, count in rows.all()}
    return counts.get("user", 0), counts.get("domain", 0)
