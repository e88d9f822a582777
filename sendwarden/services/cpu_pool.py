"""A helper process for CPU-heavy batch work (checking bulk import lines).

Python code run in a thread holds the GIL that the event loop needs, and
slicing it on the loop still makes every database round trip of every other
request wait for a GIL hand-over (up to 5 ms each, a dozen per request). A
helper process runs beside the loop on another core instead.

It is a plain child (`python -m sendwarden.services.cpu_pool`) fed pickled
`(function, args)` frames on stdin, answering on stdout: no multiprocessing
machinery (its resource tracker and queue threads cost ~40 MB), and it exits
when the server goes (end of stdin). It imports only what its jobs need
(~23 MB), is started on first use and shared by every import of this process.
If it cannot start or dies, `run` answers None and the caller does the work
itself, so imports never depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
import sys
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("sendwarden.cpu_pool")

T = TypeVar("T")
_HEADER = struct.Struct("!I")


class _Helper:
    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._failed = False

    async def call(self, function: Callable[..., T], args: tuple[Any, ...]) -> T | None:
        if self._failed:
            return None
        async with self._lock:  # one request at a time on the pipe
            try:
                process = await self._running()
                assert process.stdin is not None and process.stdout is not None
                frame = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
                process.stdin.write(_HEADER.pack(len(frame)) + frame)
                await process.stdin.drain()
                (size,) = _HEADER.unpack(await process.stdout.readexactly(_HEADER.size))
                # Our own child's answer, over a private pipe.
                ok, value = pickle.loads(await process.stdout.readexactly(size))  # noqa: S301
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.PickleError):
                log.warning("the bulk helper process failed; the server does the work")
                await self.stop()
                return None
        # On an exception the caller does the work itself and gets it first hand.
        return value if ok else None

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    __name__,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
            except OSError:
                self._failed = True  # no processes here: never try again
                raise
        return self._process

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


# One helper per event loop: pipes belong to the loop that made them (tests run many).
_helpers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Helper] = (
    weakref.WeakKeyDictionary()
)


async def run(function: Callable[..., T], *args: Any) -> T | None:
    """`function(*args)` in the helper process; None if there is none or it raised
    (run it yourself). `function` must be importable by name, its arguments picklable."""
    loop = asyncio.get_running_loop()
    helper = _helpers.get(loop)
    if helper is None:
        helper = _helpers[loop] = _Helper()
    return await helper.call(function, args)


async def shutdown() -> None:
    helper = _helpers.pop(asyncio.get_running_loop(), None)
    if helper is not None:
        await helper.stop()


def _serve() -> None:
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while header := source.read(_HEADER.size):
        (size,) = _HEADER.unpack(header)
        function, args = pickle.loads(source.read(size))  # noqa: S301 (from our parent)
        try:
            answer = (True, function(*args))
        except Exception:
            answer = (False, None)
        frame = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        sink.write(_HEADER.pack(len(frame)) + frame)
        sink.flush()


if __name__ == "__main__":
    _serve()
