"""storage.writer_lock: SQLite writers of several processes queue on an flock()."""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from sendwarden.storage import writer_lock
from sendwarden.storage.db import Database
from sendwarden.storage.models import User
from sendwarden.storage.writer_lock import WriterFileLock
from tests.support.harness import create_tenant


def other_process_holds(path: Path) -> int:
    """An independent open file description: flock() treats it like another process."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


async def becomes_free(path: Path, seconds: float = 1.0) -> bool:
    for _ in range(int(seconds * 100)):
        if is_free(path):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_writer_lock_file_sits_next_to_the_database_private(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await create_tenant(db, "writer")
        db_file = Path(sqlite_url.split("///", 1)[1])
        lock = db_file.with_name(db_file.name + ".writer-lock")
        assert lock.exists() and stat.S_IMODE(lock.stat().st_mode) == 0o600
        assert is_free(lock)  # released after the transaction
    finally:
        await db.dispose()


async def test_writer_waits_for_the_other_process_and_goes_on_when_it_releases(
    tmp_path: Path,
) -> None:
    lock = WriterFileLock(tmp_path / "x.db")
    fd = other_process_holds(lock.path)
    entered = asyncio.Event()

    async def write() -> None:
        async with lock.hold():
            entered.set()

    task = asyncio.create_task(write())
    await asyncio.sleep(0.1)
    assert not entered.is_set()
    fcntl.flock(fd, fcntl.LOCK_UN)
    await asyncio.wait_for(task, 2)
    assert entered.is_set() and is_free(lock.path)
    os.close(fd)
    lock.close()


async def test_writer_that_waited_too_long_goes_on_and_gives_a_late_lock_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_lock, "WAIT_LIMIT_SECONDS", 0.05)
    lock = WriterFileLock(tmp_path / "x.db")
    fd = other_process_holds(lock.path)
    async with lock.hold():  # SQLite's own busy timeout would decide from here
        pass
    # Until the abandoned thread is done, later writers do not queue on the file.
    async with asyncio.timeout(0.04), lock.hold():
        pass
    fcntl.flock(fd, fcntl.LOCK_UN)  # now the abandoned thread gets it ... and hands it back
    assert await becomes_free(lock.path)
    os.close(fd)
    lock.close()


async def test_cancelled_writer_gives_a_late_lock_back(tmp_path: Path) -> None:
    lock = WriterFileLock(tmp_path / "x.db")
    fd = other_process_holds(lock.path)

    async def write() -> None:
        async with lock.hold():
            raise AssertionError("must not get here")

    task = asyncio.create_task(write())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fcntl.flock(fd, fcntl.LOCK_UN)
    assert await becomes_free(lock.path)
    os.close(fd)
    lock.close()


async def test_reads_do_not_queue_on_the_writer_lock(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await create_tenant(db, "reader")
        db_file = Path(sqlite_url.split("///", 1)[1])
        fd = other_process_holds(db_file.with_name(db_file.name + ".writer-lock"))
        async with asyncio.timeout(2), db.read() as session:
            assert await session.scalar(select(User.name)) == "reader"
        os.close(fd)
    finally:
        await db.dispose()
