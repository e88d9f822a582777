"""Background suppression import jobs: created, advanced per chunk, finished."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import SuppressionImport
from sendwarden.storage.types import utcnow

RUNNING = "running"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class Counts:
    lines: int
    added: int
    duplicate: int
    invalid_count: int
    invalid: Sequence[tuple[int, str, str]]
    bytes: int


INTERRUPTED = (
    "interrupted: the server process running this import stopped; the rows counted as"
    " added were imported, the rest were not. Upload the file again: rows already"
    " imported count as duplicates"
)


async def create(
    session: AsyncSession, *, user_id: int, scope: str, process: str | None = None
) -> SuppressionImport:
    now = utcnow()
    job = SuppressionImport(
        user_id=user_id,
        scope=scope,
        process=process,
        state=RUNNING,
        lines=0,
        added=0,
        duplicate=0,
        invalid_count=0,
        invalid="[]",
        bytes=0,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    return job


async def advance(
    session: AsyncSession,
    job_id: int,
    counts: Counts,
    *,
    state: str = RUNNING,
    sha256: str | None = None,
    error: str | None = None,
) -> None:
    now = utcnow()
    await session.execute(
        update(SuppressionImport)
        .where(SuppressionImport.id == job_id)
        .values(
            state=state,
            lines=counts.lines,
            added=counts.added,
            duplicate=counts.duplicate,
            invalid_count=counts.invalid_count,
            invalid=json.dumps([list(item) for item in counts.invalid]),
            bytes=counts.bytes,
            sha256=sha256,
            error=error,
            updated_at=now,
            finished_at=None if state == RUNNING else now,
        )
    )


async def fail_interrupted(session: AsyncSession, processes: Sequence[str]) -> list[int]:
    """Fail the running jobs of processes that died; returns their ids."""
    if not processes:
        return []
    now = utcnow()
    result = await session.execute(
        update(SuppressionImport)
        .where(SuppressionImport.process.in_(processes), SuppressionImport.state == RUNNING)
        .values(state=FAILED, error=INTERRUPTED, updated_at=now, finished_at=now)
        .returning(SuppressionImport.id)
    )
    return list(result.scalars().all())


async def get(session: AsyncSession, *, job_id: int, user_id: int) -> SuppressionImport | None:
    """The job if it belongs to this user (others' jobs do not exist for them)."""
    return await session.scalar(
        select(SuppressionImport).where(
            SuppressionImport.id == job_id, SuppressionImport.user_id == user_id
        )
    )
