"""Database fault injection for the failure tests.

`StatementFault` makes the n-th SQL statement an engine runs fail: on PostgreSQL the
statement is swapped for one that terminates its own backend (the server really drops
the connection and rolls the transaction back); on SQLite the driver raises the
OperationalError that a failing disk or a lost lock produces.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import make_url

from sendwarden.storage.db import Database
from tests.support.databases import ADMIN_PG_URL

KILL_OWN_BACKEND = "SELECT pg_terminate_backend(pg_backend_pid())"


class StatementFault:
    """Fails the `fail_at`-th statement run on any of the database's engines (SQLite's
    writer thread has its own: storage.writer_thread)."""

    def __init__(self, db: Database, fail_at: int) -> None:
        self.db = db
        self.engine = db.engine
        self.fail_at = fail_at
        self.executed = 0
        self.fired = False

    def _before(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        self.executed += 1
        if self.executed != self.fail_at:
            return statement, parameters
        self.fired = True
        if self.engine.dialect.name == "postgresql":
            return KILL_OWN_BACKEND, ()
        raise self.engine.dialect.loaded_dbapi.OperationalError("disk I/O error")

    @contextmanager
    def installed(self) -> Iterator[StatementFault]:
        targets = self.db.sync_engines
        for target in targets:
            event.listen(target, "before_cursor_execute", self._before, retval=True)
        try:
            yield self
        finally:
            for target in targets:
                event.remove(target, "before_cursor_execute", self._before)


@contextmanager
def sqlite_exclusive_lock(url: str) -> Iterator[None]:
    """Hold SQLite's write lock from another connection, as a second process could."""
    path = make_url(url).database
    assert path, url
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    database = parsed.database
    assert database, url
    # Administer from the configured database (a shared server may not open `postgres`).
    admin = make_url(ADMIN_PG_URL).set(drivername="postgresql")
    return admin.render_as_string(hide_password=False), database


async def _admin_execute(url: str, *statements: str) -> None:
    dsn, _ = _admin_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def postgres_cut_off(url: str) -> None:
    """Refuse new connections to the database and terminate every open one."""
    _, database = _admin_dsn(url)
    await _admin_execute(
        url,
        f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{database}' AND pid <> pg_backend_pid()",
    )


async def postgres_restore(url: str) -> None:
    _, database = _admin_dsn(url)
    await _admin_execute(url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


async def create_postgres_database(url: str) -> None:
    """(Re)create the database that `url` names, empty, on the same server."""
    _, database = _admin_dsn(url)
    await _admin_execute(
        url,
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"',
    )


async def drop_postgres_database(url: str) -> None:
    _, database = _admin_dsn(url)
    await _admin_execute(url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
