"""Hand SQLite's write lock from one process to the next without sleeping.

A writer that finds the database locked waits in SQLite's busy handler,
which sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so with several
worker processes the lock sits idle for most of those sleeps. Processes
therefore queue on an flock() of a file next to the database first: the
kernel wakes the next waiter the moment the lock is released. SQLite's
own locking stays in charge of correctness; this only orders the writers.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

# Past this the waiter goes on without the file lock and SQLite's busy timeout
# decides, exactly as without this lock (e.g. when a process hangs holding it).
WAIT_LIMIT_SECONDS = 10.0


class WriterFileLock:
    def __init__(self, database_file: Path) -> None:
        self.path = database_file.with_name(database_file.name + ".writer-lock")
        self._fd: int | None = None
        self._late = 0  # waiters that gave up while their thread still waits
        self._closing = False

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        if self._late:
            # A waiter that gave up may still get the lock on this descriptor and
            # then release it: until it has, SQLite's own locking orders us.
            yield
            return
        try:
            fd = self._descriptor()
        except OSError:
            # No lock file (e.g. the directory is missing): SQLite reports the real problem.
            yield
            return
        held = await self._acquire(fd)
        try:
            yield
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)

    async def _acquire(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), WAIT_LIMIT_SECONDS)
        except TimeoutError:
            self._give_back_when_done(waiting, fd)
            return False
        except asyncio.CancelledError:
            self._give_back_when_done(waiting, fd)
            raise
        return True

    def _give_back_when_done(self, waiting: asyncio.Future[None], fd: int) -> None:
        """The thread may still get the lock after its waiter gave up: release it then."""
        self._late += 1

        def release(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._late -= 1
            if self._closing and not self._late:
                self.close()

        waiting.add_done_callback(release)

    def close(self) -> None:
        self._closing = True
        if self._fd is not None and not self._late:  # a late thread still uses it
            os.close(self._fd)
            self._fd = None
