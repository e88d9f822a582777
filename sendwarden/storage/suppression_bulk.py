"""Suppression statements built for bulk: multi-row inserts, keyset pages, prefix search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy.addresses import mailbox_key
from sendwarden.storage.dialect import dialect_name, table_of
from sendwarden.storage.models import Suppression, SuppressionKind
from sendwarden.storage.pagination import count_of

_TABLE = table_of(Suppression)
# Built once: the rows go in as an executemany, which SQLAlchemy sends as
# multi-row INSERTs (its "insertmanyvalues" batches) from this one cached
# statement; a .values([...]) statement would be compiled afresh per chunk,
# which costs more than the insert itself and blocks the event loop.
_INSERT_NEW = {
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
}


@dataclass(frozen=True)
class BulkRow:
    kind: str
    value: str
    reason: str | None


async def insert_ignoring_duplicates(
    session: AsyncSession,
    rows: Sequence[BulkRow],
    *,
    user_id: int | None,
    source: str,
    created_at: datetime,
) -> int:
    """Insert the rows not already on the list; return how many were new.

    Multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING id`: the unique
    indexes decide what is a duplicate, also against concurrent writers.
    """
    if not rows:
        return 0
    values: list[dict[str, Any]] = [
        {
            "user_id": user_id,
            "kind": row.kind,
            "value": row.value,
            "mailbox": mailbox_key(row.value) if row.kind == SuppressionKind.EMAIL.value else None,
            "reason": row.reason,
            "source": source,
            "created_at": created_at,
        }
        for row in rows
    ]
    result = await session.execute(_INSERT_NEW[dialect_name(session)], values)
    return len(result.all())


def visible_to(user_id: int) -> ColumnElement[bool]:
    return or_(_TABLE.c.user_id == user_id, _TABLE.c.user_id.is_(None))


async def page_after(
    session: AsyncSession, *, user_id: int, after_id: int, limit: int
) -> Sequence[Any]:
    """The next `limit` visible rows with id > after_id (keyset: no OFFSET scan)."""
    query = (
        select(
            _TABLE.c.id,
            _TABLE.c.kind,
            _TABLE.c.value,
            _TABLE.c.reason,
            _TABLE.c.source,
            _TABLE.c.user_id,
            _TABLE.c.created_at,
        )
        .where(_TABLE.c.id > after_id, visible_to(user_id))
        .order_by(_TABLE.c.id)
        .limit(limit)
    )
    return (await session.execute(query)).all()


def prefix_condition(session: AsyncSession, prefix: str) -> ColumnElement[bool]:
    """`value` starts with `prefix`, as a range the value indexes serve.

    `prefix <= value < successor(prefix)` in code point order (= UTF-8 byte
    order): SQLite's BINARY collation, and on PostgreSQL the "C" collation of
    ix_suppressions_value_c whatever the database's collation. A range, unlike
    LIKE 'q%', also uses the index in a prepared statement's generic plan.
    """
    value: ColumnElement[str] = _TABLE.c.value
    if dialect_name(session) == "postgresql":
        value = value.collate("C")
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return value >= prefix
    return (value >= prefix) & (value < prefix[:-1] + chr(last + 1))


def search_order(session: AsyncSession) -> tuple[ColumnElement[Any], ...]:
    """Prefix results in value order, the order the range scan yields them."""
    if dialect_name(session) == "postgresql":
        return (_TABLE.c.value.collate("C"), _TABLE.c.id)
    return (_TABLE.c.value, _TABLE.c.id)


def search_query(session: AsyncSession, *, user_id: int, prefix: str | None) -> Select[Any]:
    conditions = [visible_to(user_id)]
    if prefix:
        conditions.append(prefix_condition(session, prefix))
    return select(Suppression).where(*conditions)


async def count(session: AsyncSession, *, user_id: int, prefix: str | None) -> int:
    return await count_of(session, search_query(session, user_id=user_id, prefix=prefix))
