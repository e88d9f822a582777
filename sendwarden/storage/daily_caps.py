"""Where the daily caps are enforced: per-day send counters and the atomic two-slot
reservation (user cap and registrable-domain cap, product.md §3).

A reservation increments the user's counter and the recipient domain's
counter for one day with conditional upserts (`count < cap`). Both run in the
caller's transaction: if the second fails the first is given back at once, so
a domain-cap block never consumes a user slot. On PostgreSQL
`ON CONFLICT DO UPDATE ... WHERE` locks the row and re-checks the condition
against the latest committed count, so concurrent reservations cannot
overshoot the cap; on SQLite the write lock taken at BEGIN serialises them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Integer, bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import dialect_name, table_of
from sendwarden.storage.models import DailyCounter

Scope = Literal["user", "domain"]
USER_SCOPE_KEY = ""


@dataclass(frozen=True)
class Reservation:
    ok: bool
    blocked_by: Scope | None
    user_count: int
    domain_count: int


# Built once: the hot path executes these on every send, and building SQLAlchemy
# expressions per call cost more than running them.
_COUNTERS = table_of(DailyCounter)
_KEY = ("user_id", "scope", "scope_key", "day")


def _counter_row(insert: Any, count: Any) -> Any:
    """INSERT of one counter row, its key from the parameters of the same names."""
    return insert(_COUNTERS).values(**{k: bindparam(k) for k in _KEY}, count=count)


def _increment(insert: Any) -> Any:
    stmt = _counter_row(insert, 1)
    return stmt.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={"count": _COUNTERS.c.count + 1},
        where=_COUNTERS.c.count < bindparam("cap"),
    ).returning(_COUNTERS.c.count)


_INCREMENT = {"postgresql": _increment(pg_insert), "sqlite": _increment(sqlite_insert)}


def _add_many(insert: Any) -> Any:
    stmt = _counter_row(insert, bindparam("count"))
    cap = case(
        (_COUNTERS.c.scope == "user", bindparam("user_cap", type_=Integer)),
        else_=bindparam("domain_cap", type_=Integer),
    )
    return stmt.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={"count": _COUNTERS.c.count + stmt.excluded.count},
        where=_COUNTERS.c.count + stmt.excluded.count <= cap,
    ).returning(_COUNTERS.c.count)


_ADD_MANY = {"postgresql": _add_many(pg_insert), "sqlite": _add_many(sqlite_insert)}
# WHERE parameters of an UPDATE may not be named like the table's columns.
_DECREMENT = (
    update(_COUNTERS)
    .where(*(_COUNTERS.c[k] == bindparam(f"this_{k}") for k in _KEY))
    .values(count=_COUNTERS.c.count - 1)
)
_READ = select(_COUNTERS.c.count).where(*(_COUNTERS.c[k] == bindparam(k) for k in _KEY))
_READ_MANY = select(
    _COUNTERS.c.user_id, _COUNTERS.c.scope, _COUNTERS.c.scope_key, _COUNTERS.c.count
).where(
    _COUNTERS.c.user_id.in_(bindparam("user_ids", expanding=True)),
    _COUNTERS.c.day == bindparam("day"),
    or_(
        (_COUNTERS.c.scope == "user") & (_COUNTERS.c.scope_key == USER_SCOPE_KEY),
        (_COUNTERS.c.scope == "domain")
        & _COUNTERS.c.scope_key.in_(bindparam("domains", expanding=True)),
    ),
)


async def try_increment(
    session: AsyncSession, *, user_id: int, scope: Scope, key: str, day: str, cap: int
) -> int | None:
    """Increment one counter if it is below `cap`; return the new count, or None if full."""
    if cap <= 0:
        return None
    params = {"user_id": user_id, "scope": scope, "scope_key": key, "day": day, "cap": cap}
    result = await session.execute(_INCREMENT[dialect_name(session)], params)
    return result.scalar_one_or_none()


async def reserve_slots(
    session: AsyncSession, *, user_id: int, domain: str, day: str, user_cap: int, domain_cap: int
) -> Reservation:
    """Reserve one user slot and one domain slot, or neither.

    A refused domain slot gives the user slot back in the same transaction,
    which holds that row's lock (PostgreSQL) or the write lock (SQLite) until
    it ends, so no other reservation can have seen the slot.
    """
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
        await _decrement(session, user_id, "user", USER_SCOPE_KEY, day)
        return Reservation(False, "domain", user_count - 1, domain_cap)
    return Reservation(True, None, user_count, domain_count)


async def reserve_many(
    session: AsyncSession,
    *,
    slots: Sequence[tuple[int, str]],
    day: str,
    user_cap: int,
    domain_cap: int,
) -> bool:
    """Reserve a user slot and a domain slot for each (user id, domain), with one statement.

    True when every slot was taken. False when any was not: then some may have
    been taken, so run this inside a savepoint and roll it back on False (the
    caller then reserves one request at a time, with reserve_slots, to find
    which ones fit). Rows are locked user by user, each user's counter first.
    """
    users = Counter(user_id for user_id, _ in slots)
    domains = Counter(slots)
    if max(users.values()) > user_cap or max(domains.values()) > domain_cap:
        return False  # a new row is inserted whole, without the cap condition
    rows: list[dict[str, Any]] = []
    for user_id in sorted(users):
        rows.append(_row(user_id, "user", USER_SCOPE_KEY, day, users[user_id]))
        rows.extend(
            _row(user_id, "domain", domain, day, count)
            for (owner, domain), count in sorted(domains.items())
            if owner == user_id
        )
    caps = {"user_cap": user_cap, "domain_cap": domain_cap}
    # executemany of one prepared upsert: SQLAlchemy sends it as one multi-row
    # statement (insertmanyvalues) and compiles it once.
    result = await session.execute(
        _ADD_MANY[dialect_name(session)], [{**row, **caps} for row in rows]
    )
    taken = result.all()
    return len(taken) == len(rows)


def _row(user_id: int, scope: Scope, key: str, day: str, count: int) -> dict[str, Any]:
    return {"user_id": user_id, "scope": scope, "scope_key": key, "day": day, "count": count}


async def release_slots(session: AsyncSession, *, user_id: int, domain: str, day: str) -> None:
    """Give back both slots that `reserve_slots` took earlier in this transaction."""
    await _decrement(session, user_id, "user", USER_SCOPE_KEY, day)
    await _decrement(session, user_id, "domain", domain, day)


async def _decrement(session: AsyncSession, user_id: int, scope: Scope, key: str, day: str) -> None:
    params = {"this_user_id": user_id, "this_scope": scope, "this_scope_key": key, "this_day": day}
    await session.execute(_DECREMENT, params)


async def read(session: AsyncSession, user_id: int, scope: Scope, key: str, day: str) -> int:
    params = {"user_id": user_id, "scope": scope, "scope_key": key, "day": day}
    count = (await session.execute(_READ, params)).scalar_one_or_none()
    return int(count or 0)


CounterKey = tuple[int, Scope, str]  # (user_id, scope, scope key)


async def read_many(
    session: AsyncSession, *, user_ids: Iterable[int], domains: Iterable[str], day: str
) -> dict[CounterKey, int]:
    """Today's user counters of `user_ids` and their domain counters of `domains`, one query.

    Missing keys count 0."""
    params = {"user_ids": sorted(set(user_ids)), "domains": sorted(set(domains)), "day": day}
    rows = await session.execute(_READ_MANY, params)
    return {(user_id, scope, key): int(count) for user_id, scope, key, count in rows.all()}
