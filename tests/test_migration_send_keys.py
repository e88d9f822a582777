"""Migration 0004a: send keys unique per hash across users (keeping the guarding row);
suppressions get the mailbox they are matched on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sendwarden.storage.migrate import upgrade
from tests.support.databases import ADMIN_PG_URL, postgres_url, sqlite_url

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
# (user, hash, state, used hours ago or None) -> which row of each hash survives
ROWS = [
    (1, "a" * 64, "used", 20),
    (2, "a" * 64, "used", 2),  # newest use of "a": kept
    (3, "a" * 64, "used", 10),
    (1, "b" * 64, "used", 1),
    (2, "b" * 64, "in_flight", None),  # an in-flight reservation guards a send: kept
    (3, "c" * 64, "used", 5),  # alone: kept
]
SUPPRESSIONS = [
    ("email", "editor@x.example"),
    ("email", "editor+news@x.example"),
    ("email", "+only@x.example"),
    ("domain", "mail.x.example"),
]


@contextlib.contextmanager
def scratch_postgres() -> Iterator[str]:
    postgres_url()  # skips (or fails under SENDWARDEN_REQUIRE_POSTGRES) without a server
    admin = make_url(ADMIN_PG_URL)
    name = f"{admin.database}_sw_mig_{id(ROWS)}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "migrate.db")
        return
    with scratch_postgres() as url:
        yield url


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for user in (1, 2, 3):
            await conn.execute(
                text("INSERT INTO users (id, name, is_admin, created_at) VALUES (:i, :n, :a, :c)"),
                {"i": user, "n": f"user{user}", "a": False, "c": NOW},
            )
        for number, (user, key_hash, state, hours) in enumerate(ROWS, start=1):
            used = None if hours is None else NOW - timedelta(hours=hours)
            await conn.execute(
                text(
                    "INSERT INTO send_keys (id, user_id, key_hash, state, attempt_id,"
                    " created_at, used_at) VALUES (:id, :u, :h, :s, :a, :c, :used)"
                ),
                {
                    "id": number,
                    "u": user,
                    "h": key_hash,
                    "s": state,
                    "a": number,
                    "c": used or NOW,
                    "used": used,
                },
            )
        for number, (kind, value) in enumerate(SUPPRESSIONS, start=1):
            await conn.execute(
                text(
                    "INSERT INTO suppressions (id, user_id, kind, value, source, created_at)"
                    " VALUES (:id, 1, :k, :v, 'manual', :c)"
                ),
                {"id": number, "k": kind, "v": value, "c": NOW},
            )
    await engine.dispose()


async def _mailboxes(url: str) -> list[tuple[str, str | None]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT value, mailbox FROM suppressions ORDER BY id"))
        found = [(r.value, r.mailbox) for r in rows]
    await engine.dispose()
    return found


async def _keys(url: str) -> list[tuple[int, str, str]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, key_hash, state FROM send_keys ORDER BY id"))
        found = [(r.id, r.key_hash, r.state) for r in rows]
        with pytest.raises(Exception, match="(?i)unique"):
            await conn.execute(
                text(
                    "INSERT INTO send_keys (user_id, key_hash, state, created_at)"
                    " VALUES (1, :h, 'used', :c)"
                ),
                {"h": "c" * 64, "c": NOW},
            )
    await engine.dispose()
    return found


def test_migration_keeps_one_send_key_per_hash(empty_url: str) -> None:
    upgrade(empty_url, "0003")
    asyncio.run(_seed(empty_url))

    upgrade(empty_url, "head")

    assert asyncio.run(_keys(empty_url)) == [
        (2, "a" * 64, "used"),
        (5, "b" * 64, "in_flight"),
        (6, "c" * 64, "used"),
    ]
    assert asyncio.run(_mailboxes(empty_url)) == [
        ("editor@x.example", "editor@x.example"),
        ("editor+news@x.example", "editor@x.example"),
        ("+only@x.example", "+only@x.example"),
        ("mail.x.example", None),
    ]
