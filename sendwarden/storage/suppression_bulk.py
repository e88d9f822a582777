"""Suppression statements built for bulk: multi-row inserts, keyset pages, prefix search."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.db import Database
from sendwarden.storage.dialect import dialect_name, table_of
from sendwarden.storage.models import Suppression
from sendwarden.storage.pagination import count_of

_TABLE = table_of(Suppression)
# Plain driver statements, not ORM/Core inserts: SQLAlchemy's per-row parameter
# processing of a 1000-row executemany costs more than the insert itself and
# runs on the event loop. SQLite: the C executemany binds and steps every row
# in aiosqlite's thread. PostgreSQL: ONE statement whose rows arrive as arrays
# (asyncpg encodes them in C), unnested server-side.
_INSERT_SQLITE = (
    "INSERT INTO suppressions (user_id, kind, value, mailbox, reason, source, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_INSERT_POSTGRESQL = (
    "INSERT INTO suppressions (user_id, kind, value, mailbox, reason, source, created_at)"
    " SELECT $1, t.kind, t.value, t.mailbox, t.reason, $2, $3"
    " FROM unnest($4::text[], $5::text[], $6::text[], $7::text[])"
    " AS t(kind, value, mailbox, reason)"
    " ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class BulkRow:
    kind: str
    value: str
    mailbox: str | None  # email entries: the mailbox key sends are matched on
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

    `INSERT ... ON CONFLICT DO NOTHING`: the unique indexes decide what is a
    duplicate, also against concurrent writers.
    """
    if not rows:
        return 0
    connection = await session.connection()
    dialect = connection.dialect
    # The column type's own conversion (UTC, and SQLite's text form).
    to_db = _TABLE.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = to_db(created_at) if to_db is not None else created_at
    if dialect.name == "postgresql":
        result = await connection.exec_driver_sql(
            _INSERT_POSTGRESQL,
            (
                user_id,
                source,
                stamp,
                [row.kind for row in rows],
                [row.value for row in rows],
                [row.mailbox for row in rows],
                [row.reason for row in rows],
            ),
        )
    else:
        result = await connection.exec_driver_sql(
            _INSERT_SQLITE,
            [(user_id, r.kind, r.value, r.mailbox, r.reason, source, stamp) for r in rows],
        )
    return result.rowcount


def visible_to(user_id: int) -> ColumnElement[bool]:
    return or_(_TABLE.c.user_id == user_id, _TABLE.c.user_id.is_(None))


class ExportRow(NamedTuple):
    id: int
    kind: str
    value: str
    reason: str | None
    source: str
    user_id: int | None
    created_at: datetime


_PAGE = {
    # SQLite walks the primary key in order and filters: its planner would
    # also take a (user_id, id) index for the prefix search, which is slower.
    "sqlite": "SELECT id, kind, value, reason, source, user_id, created_at FROM suppressions"
    " WHERE id > ? AND (user_id = ? OR user_id IS NULL) ORDER BY id LIMIT ?",
    # PostgreSQL: the user's entries and the global ones, each an index range
    # on (user_id, id); with the OR it read all of the user's entries (bitmap
    # scan, then a sort) for every page.
    "postgresql": "(SELECT id, kind, value, reason, source, user_id, created_at FROM suppressions"
    " WHERE user_id = $2 AND id > $1 ORDER BY id LIMIT $3)"
    " UNION ALL (SELECT id, kind, value, reason, source, user_id, created_at FROM suppressions"
    " WHERE user_id IS NULL AND id > $1 ORDER BY id LIMIT $3)"
    " ORDER BY id LIMIT $3",
}


async def page_after(
    session: AsyncSession, *, user_id: int, after_id: int, limit: int
) -> list[ExportRow]:
    """The next `limit` visible rows with id > after_id (keyset: no OFFSET scan).

    A plain driver statement: ORM/Core result processing costs several
    microseconds a row on the event loop, and an import's rows share a handful
    of timestamps, so each distinct one is converted once.
    """
    connection = await session.connection()
    dialect = connection.dialect
    result = await connection.exec_driver_sql(_PAGE[dialect.name], (after_id, user_id, limit))
    to_python: Callable[[Any], Any] | None = _TABLE.c.created_at.type.dialect_impl(
        dialect
    ).result_processor(dialect, None)
    stamps: dict[Any, datetime] = {}
    rows: list[ExportRow] = []
    raw_rows: Sequence[Sequence[Any]] = result.all()
    for id_, kind, value, reason, source, owner, raw in raw_rows:
        stamp = stamps.get(raw)
        if stamp is None:
            stamp = stamps[raw] = to_python(raw) if to_python is not None else raw
        rows.append(ExportRow(id_, kind, value, reason, source, owner, stamp))
    return rows


async def refresh_statistics(db: Database) -> None:
    """ANALYZE the suppression list after a bulk change (PostgreSQL; SQLite's planner
    does without). It samples a bounded number of rows, so it takes well under a second."""
    if db.dialect != "postgresql":
        return
    async with db.transaction() as session:
        await session.execute(text("ANALYZE suppressions"))


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
