"""Suppression imports as background jobs: the upload is spooled, then imported
in this process while GET /suppression/imports/{id} reports how far it got."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.services.errors import InvalidInput
from sendwarden.services.suppression_import import ImportProgress, ImportTarget, import_stream
from sendwarden.storage import suppression_imports
from sendwarden.storage.db import Database

log = logging.getLogger("sendwarden.suppression_import")

READ_BYTES = 256 * 1024
# Running jobs, so they are not garbage-collected mid-flight.
_RUNNING: set[asyncio.Task[None]] = set()


async def spool(chunks: AsyncIterable[bytes]) -> Path:
    """Write the upload to a private temporary file as it arrives."""
    handle, name = tempfile.mkstemp(prefix="sendwarden-import-", suffix=".csv")
    os.close(handle)
    path = Path(name)
    try:
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in chunks:
                await out.write(chunk)
    except BaseException:
        await anyio.Path(path).unlink(missing_ok=True)
        raise
    return path


async def file_chunks(path: Path, size: int = READ_BYTES) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as source:
        while chunk := await source.read(size):
            yield chunk


def _counts(progress: ImportProgress) -> suppression_imports.Counts:
    return suppression_imports.Counts(
        lines=progress.lines,
        added=progress.added,
        duplicate=progress.duplicate,
        invalid_count=progress.invalid_count,
        invalid=progress.invalid,
        bytes=progress.bytes,
    )


async def start(
    db: Database,
    path: Path,
    *,
    target: ImportTarget,
    scope: str,
    owner_id: int,
    process: str | None = None,
) -> int:
    """Create the job and start importing `path` (deleted when done); return its id.

    `process` is this process's lease owner: if the process dies, the lease sweep
    fails the job instead of leaving it `running`.
    """
    async with db.transaction() as session:
        job = await suppression_imports.create(
            session, user_id=owner_id, scope=scope, process=process
        )
    task = asyncio.create_task(
        _run(db, path, job.id, dataclasses.replace(target, import_id=job.id)),
        name=f"suppression-import-{job.id}",
    )
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return job.id


async def _run(db: Database, path: Path, job_id: int, target: ImportTarget) -> None:
    progress = ImportProgress()

    async def record(session: AsyncSession, done: ImportProgress) -> None:
        await suppression_imports.advance(session, job_id, _counts(done))

    state, error = suppression_imports.DONE, None
    try:
        await import_stream(db, file_chunks(path), target, on_chunk=record, progress=progress)
    except InvalidInput as exc:
        state, error = suppression_imports.FAILED, exc.message
    except Exception:
        log.exception("suppression import %s failed", job_id)
        state, error = suppression_imports.FAILED, "the import failed; see the server log"
    finally:
        await anyio.Path(path).unlink(missing_ok=True)
    with contextlib.suppress(Exception):  # the database may be gone at shutdown
        async with db.transaction() as session:
            await suppression_imports.advance(
                session,
                job_id,
                _counts(progress),
                state=state,
                sha256=progress.digest or None,
                error=error,
            )


async def wait_for_all() -> None:
    """For tests and shutdown: let running imports finish."""
    if _RUNNING:
        await asyncio.gather(*_RUNNING, return_exceptions=True)
