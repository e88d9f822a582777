"""Engine and session handling for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sendwarden.storage.audit_chain import AUDIT_KEY_INFO
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.writer_lock import WriterFileLock
from sendwarden.storage.writer_thread import Work, WriterThread

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "sendwarden_read_only"
PING_IDLE_AFTER_SECONDS = 2.0
_CHECKED_IN_AT = "sendwarden_checked_in_at"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _make_sqlite_transactions_immediate(engine.sync_engine)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=30)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """`pool_pre_ping` for connections that sat idle in the pool, not for busy ones.

    A connection that went stale (server restarted, idle connection cut) is
    found by a ping and replaced before anyone uses it. Pinging at every
    checkout, as pool_pre_ping does, cost a round trip per transaction: about
    5 % of a worker's CPU under send load. A connection checked in moments ago
    was working moments ago; one that breaks in between fails its request, as
    it could have between a ping and its use anyway.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in < PING_IDLE_AFTER_SECONDS:
            return  # new, or in use a moment ago
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc  # the pool reconnects


def _make_sqlite_transactions_immediate(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN.

    pysqlite's default deferred transactions upgrade a read lock to a write
    lock mid-transaction, which fails with "database is locked" (not retried)
    when two processes race: the conditional counter upserts and the audit
    chain rely on writers queueing instead. WAL keeps readers unblocked.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-only transactions (Database.read) take a snapshot, not the write lock.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class TaskReentrantLock:
    """An asyncio lock that the task holding it may enter again.

    Used to queue SQLite transactions inside one process: SQLite lets one
    writer in at a time, and a transaction that finds the database locked
    sleeps in SQLite's busy handler (1 ms growing to 100 ms) even after the
    lock is free. Queueing here hands the turn over at once, in order. A task
    that opens a transaction inside another (before the outer one has run a
    statement) must not wait for itself, hence re-entrancy.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Yields True for the outermost hold, False when the task re-enters."""
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            self._depth += 1
            try:
                yield False
            finally:
                self._depth -= 1
            return
        async with self._lock:
            self._owner, self._depth = task, 1
            try:
                yield True
            finally:
                self._owner, self._depth = None, 0


class Database:
    """Owns the engine; hands out sessions whose transaction commits on success."""

    def __init__(self, url: str, *, pool_size: int = 10, audit_key: AuditKey | None = None) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        # Without settings (tests, tools): the default key file for this database.
        self.audit_key = audit_key or AuditKey(url)
        self._session_info = {AUDIT_KEY_INFO: self.audit_key}
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, info=self._session_info
        )
        self._queue = TaskReentrantLock() if is_sqlite(url) else None
        database_file = make_url(url).database if is_sqlite(url) else None
        self._writers = (
            WriterFileLock(Path(database_file))
            if database_file and database_file != ":memory:"
            else None
        )
        # Created now (no connection, no thread until the first use), so that its
        # engine can be watched like the main one (`sync_engines`).
        self._writer_thread = (
            WriterThread(url, _make_sqlite_transactions_immediate, SQLITE_BUSY_TIMEOUT_MS / 1000)
            if self._writers is not None
            else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self._queue is None:
            async with self.sessionmaker() as session, session.begin():
                yield session
            return
        async with (
            self._queue.hold() as first,
            self._cross_process(first),
            self.sessionmaker() as session,
            session.begin(),
        ):
            yield session

    def _cross_process(self, first: bool) -> AbstractAsyncContextManager[None]:
        if first and self._writers is not None:
            return self._writers.hold()
        return nullcontext()

    async def run_transaction(self, work: Work[T]) -> T:
        """`work(session)` in one transaction, committed when it returns.

        On a SQLite file the whole transaction runs in one trip to a thread
        (`storage.writer_thread`), so `work` may only await its session's
        `execute` and `scalars`; elsewhere it runs in `transaction()` as usual.
        Never call it inside another transaction of this database: on SQLite the
        thread's own connection would wait for the outer one's write lock.
        """
        thread = self._writer_thread
        if thread is None or self._queue is None:
            async with self.transaction() as session:
                return await work(session)
        async with self._queue.hold() as first, self._cross_process(first):
            done = thread.submit(work, self._session_info, self.engine.sync_engine)
            return await asyncio.wrap_future(done)

    @property
    def sync_engines(self) -> list[Engine]:
        """Every engine that runs statements (for event listeners: tests, tracing)."""
        extra = [self._writer_thread.engine] if self._writer_thread is not None else []
        return [self.engine.sync_engine, *extra]

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction that must only read.

        On SQLite it neither takes the write lock nor queues behind writers:
        in WAL mode a reader sees the last commit while a writer works.
        """
        if self._queue is None:
            async with self.transaction() as session:
                yield session
            return
        async with self.engine.connect() as connection:
            await connection.execution_options(**{READ_ONLY_OPTION: True})
            async with (
                AsyncSession(
                    bind=connection, expire_on_commit=False, info=self._session_info
                ) as session,
                session.begin(),
            ):
                yield session

    async def ping(self) -> None:
        """One round trip to the database; on SQLite without queueing for the write lock."""
        async with self.engine.connect() as connection:
            if self._queue is not None:
                await connection.execution_options(**{READ_ONLY_OPTION: True})
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._writer_thread is not None:
            thread, self._writer_thread = self._writer_thread, None
            if thread.used:
                await asyncio.to_thread(thread.close)
            else:
                thread.close()
        if self._writers is not None:
            self._writers.close()
