"""A whole batch's reservations at once: both cap slots and the duplicate key of
every request, with three statements instead of three per request.

Group-committed sends (services/send/decide.py) usually all fit. When they do,
this takes everything in a savepoint; when any slot or key is refused, the
savepoint is rolled back, nothing is held, and the caller reserves one request
at a time to find out which ones lost (daily_caps.reserve_slots,
duplicate_keys.try_reserve). Locks are taken in the same order as that path:
each user's counter first, users in id order, then the keys in key order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage import daily_caps, duplicate_key_purge, duplicate_keys

# Below this many requests the one-at-a-time path runs fewer statements (the
# savepoint costs two).
MIN_BATCH = 2


@dataclass(frozen=True)
class Wanted:
    user_id: int
    domain: str  # registrable domain: the domain cap's key
    key_hash: str  # the duplicate key
    attempt_id: int


async def reserve_all(
    session: AsyncSession, wanted: Sequence[Wanted], *, day: str, user_cap: int, domain_cap: int
) -> bool:
    """Reserve every request's slots and key (True), or none of them (False)."""
    if len(wanted) < MIN_BATCH:
        return False
    savepoint = await session.begin_nested()
    ok = await daily_caps.reserve_many(
        session,
        slots=[(w.user_id, w.domain) for w in wanted],
        day=day,
        user_cap=user_cap,
        domain_cap=domain_cap,
    )
    if ok:
        await duplicate_key_purge.purge_expired_if_due(session)
        ok = await duplicate_keys.try_reserve_many(
            session, keys=[(w.user_id, w.key_hash, w.attempt_id) for w in wanted]
        )
    if ok:
        await savepoint.commit()
    else:
        await savepoint.rollback()
    return ok
