"""A whole SQLite transaction in one trip to a thread (`Database.run_transaction`).

Through aiosqlite, every statement goes to its thread and back three or four times
(cursor, execute, fetch, close), each a wake-up of the event loop and a hand-over
of the GIL. A transaction of eight statements made some thirty such trips, and
under load the loop sat idle between them. Here the transaction's code runs in
one thread, on a plain `sqlite3` connection of its own, from BEGIN to COMMIT.

The code is not written twice: the storage functions stay `async def` and take
a session, and they get a stand-in (`ThreadSession`) whose `execute` runs at once,
so their coroutine never suspends and is driven to the end right there. Anything
that would really wait (a sleep, a lock, a network call) is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Result, ScalarResult
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]


class ThreadSession:
    """What storage functions use of an AsyncSession, on a sync connection in a transaction.

    `get_bind()` answers the database's main engine: code that asks it for the
    dialect, or keys a per-database cache on it, sees the same database either way.
    """

    def __init__(self, connection: Connection, info: Mapping[str, Any], bind: Engine) -> None:
        self._connection = connection
        self._bind = bind
        self.info = dict(info)

    def get_bind(self) -> Engine:
        return self._bind

    async def execute(self, statement: Any, params: Any = None) -> Result[Any]:
        return self._connection.execute(statement, params)

    async def scalars(self, statement: Any, params: Any = None) -> ScalarResult[Any]:
        return self._connection.execute(statement, params).scalars()


class StatementsOnlyError(RuntimeError):
    """The work awaited something that is not one of its session's statements."""


def run_to_end(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends, computed in the calling thread."""
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return cast(T, finished.value)
    coroutine.close()
    raise StatementsOnlyError("a thread transaction may only await its session's statements")


class WriterThread:
    """One thread and one sync connection that run whole transactions for a SQLite file."""

    def __init__(self, url: str, configure: Callable[[Engine], None], timeout: float) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        # Only the one thread below ever uses the connection.
        self.engine = create_sync_engine(
            sync_url, connect_args={"timeout": timeout, "check_same_thread": False}
        )
        configure(self.engine)  # the async engine's pragmas and BEGIN IMMEDIATE
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self.used = False  # no thread and no connection until the first transaction

    def submit(self, work: Work[T], info: Mapping[str, Any], bind: Engine) -> Future[T]:
        """`work`'s result to come, its transaction committed (or rolled back on an error)."""
        self.used = True
        return self._thread.submit(self._transaction, work, info, bind)

    def _transaction(self, work: Work[T], info: Mapping[str, Any], bind: Engine) -> T:
        with self.engine.begin() as connection:
            session = cast(AsyncSession, ThreadSession(connection, info, bind))
            return run_to_end(cast(Coroutine[Any, Any, T], work(session)))

    def close(self) -> None:
        """Waits for a transaction in progress; blocks, so call it off the event loop if used."""
        if self.used:  # the connection is closed by the thread that used it
            self._thread.submit(self.engine.dispose).result()
        self._thread.shutdown(wait=True)
