"""Database.run_transaction: on a SQLite file, a whole transaction in one trip to a
thread (storage.writer_thread); elsewhere an ordinary transaction. Either way it
commits all of its work or none of it, and the audit chain stays one chain when
these transactions and ordinary ones append at the same time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage import audit, audit_chain, users
from sendwarden.storage.db import Database
from sendwarden.storage.models import AuditEntry
from sendwarden.storage.writer_thread import StatementsOnlyError
from sendwarden.webhooks import outbox


def entry(n: int) -> audit.AuditRecord:
    return audit.AuditRecord(event="writer_thread_test", user_id=None, reason=f"entry {n}")


async def entries(db: Database) -> int:
    async with db.read() as session:
        found = await session.scalar(
            select(func.count()).where(AuditEntry.event == "writer_thread_test")
        )
    return int(found or 0)


async def chain_holds(db: Database) -> bool:
    async with db.transaction() as session:
        return (await audit_chain.verify_chain(session)).ok


async def test_a_thread_transaction_commits_its_work_and_returns_its_result(db: Database) -> None:
    async def work(session: AsyncSession) -> int:
        await audit.append_many(session, [entry(1), entry(2)])
        return 7

    assert await db.run_transaction(work) == 7
    assert await entries(db) == 2
    assert await chain_holds(db)


async def test_a_thread_transaction_that_fails_writes_nothing(db: Database) -> None:
    async def work(session: AsyncSession) -> None:
        await audit.append_many(session, [entry(1)])
        raise ValueError("changed my mind")

    with pytest.raises(ValueError, match="changed my mind"):
        await db.run_transaction(work)
    assert await entries(db) == 0
    assert await chain_holds(db)


async def test_a_thread_transaction_refuses_work_that_waits_for_anything_else(
    db: Database,
) -> None:
    async def work(session: AsyncSession) -> None:
        await audit.append_many(session, [entry(1)])
        await asyncio.sleep(0)  # not a statement: would need the event loop

    if db.dialect != "sqlite":
        await db.run_transaction(work)  # an ordinary transaction may wait
        return
    with pytest.raises(StatementsOnlyError):
        await db.run_transaction(work)
    assert await entries(db) == 0


async def test_thread_and_ordinary_transactions_append_to_one_chain(db: Database) -> None:
    async def in_thread(n: int) -> None:
        await db.run_transaction(lambda session: audit.append_many(session, [entry(n)]))

    async def ordinary(n: int) -> None:
        async with db.transaction() as session:
            await audit.append_many(session, [entry(n), entry(n + 1)])

    await asyncio.gather(
        *(in_thread(n) for n in range(40)), *(ordinary(100 + 2 * n) for n in range(40))
    )
    assert await entries(db) == 120
    assert await chain_holds(db)


async def test_the_writer_thread_runs_on_sqlite_files_only(db: Database) -> None:
    assert len(db.sync_engines) == (2 if db.dialect == "sqlite" else 1)
    memory = Database("sqlite+aiosqlite:///:memory:")
    assert len(memory.sync_engines) == 1  # another connection would be another database
    await memory.dispose()


async def test_events_written_in_the_thread_wake_the_dispatchers(db: Database) -> None:
    async with db.transaction() as session:
        user = await users.create_user(session, "thread-events")
    wake = asyncio.Event()
    outbox.wakeups[wake] = asyncio.get_running_loop()
    try:
        event = outbox.NewEvent(user_id=user.id, type="attempt.sent", data={"n": 1})
        await db.run_transaction(lambda session: outbox.emit_many(session, [event]))
        await asyncio.wait_for(wake.wait(), 5)  # set through the loop, not from the thread
    finally:
        outbox.wakeups.pop(wake, None)


async def test_a_thread_session_reports_the_main_engine(db: Database) -> None:
    async def bind_of(session: AsyncSession) -> object:
        return session.get_bind()

    # Per-database caches (webhooks/outbox.py) are keyed on it: one cache per database.
    assert await db.run_transaction(bind_of) is db.engine.sync_engine
