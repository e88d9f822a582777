"""Pooled PostgreSQL connections that went stale while idle are replaced unseen
(storage/db.py pings a connection that sat idle, instead of at every checkout)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from sendwarden.storage import db as db_module
from sendwarden.storage.db import Database


async def _backend_pid(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def _terminate(url: str, pid: int) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_a_connection_killed_while_idle_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(pg_url, pool_size=1)
    try:
        pid = await _backend_pid(database)
        await _terminate(pg_url, pid)
        monkeypatch.setattr(db_module, "PING_IDLE_AFTER_SECONDS", 0.0)  # it has been idle long
        assert await _backend_pid(database) not in (0, pid)
    finally:
        await database.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(("idle_after", "pinged"), [(60.0, 0), (0.0, 3)])
async def test_only_a_connection_idle_for_a_while_is_pinged(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, idle_after: float, pinged: int
) -> None:
    database = Database(pg_url, pool_size=1)
    pings: list[object] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def counting_ping(self: AsyncAdapt_asyncpg_connection) -> None:
        pings.append(self)
        real_ping(self)  # type: ignore[no-untyped-call]

    try:
        await _backend_pid(database)  # a new connection: never pinged
        monkeypatch.setattr(db_module, "PING_IDLE_AFTER_SECONDS", idle_after)
        monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting_ping)
        for _ in range(3):
            await _backend_pid(database)
        assert len(pings) == pinged
    finally:
        await database.dispose()
