"""Bulk suppression import: streamed, chunked, one short transaction per chunk.

The same code backs `POST /suppression/import` and `sendwarden suppress import`.
Bytes arrive in any chunks (a request stream or a file); rows are parsed as they
come and written CHUNK_ROWS at a time with multi-row `INSERT ... ON CONFLICT DO
NOTHING`, each chunk in its own transaction, so the database writer (SQLite's
write lock, PostgreSQL's audit head) is held for milliseconds and other requests
interleave. The whole import is audited as ONE entry (file digest, counts, who)
written once at the end, and only when it added something, like single adds.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.services.errors import InvalidInput
from sendwarden.services.suppression import parse_target
from sendwarden.services.suppression_csv import CsvRow, SuppressionCsv
from sendwarden.storage import audit, suppression_bulk
from sendwarden.storage.db import Database
from sendwarden.storage.models import SuppressionSource
from sendwarden.storage.types import utcnow

CHUNK_ROWS = 1000
SLICE_ROWS = 100
# Invalid lines kept for the report; the count goes on past it.
MAX_REPORTED_INVALID = 1000


@dataclass
class ImportProgress:
    lines: int = 0
    added: int = 0
    duplicate: int = 0
    invalid_count: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)
    bytes: int = 0
    digest: str = ""

    def reject(self, line: int, value: str | None, error: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_REPORTED_INVALID:
            self.invalid.append((line, _preview(value), error))


# Called inside each chunk's transaction (e.g. to update a job's status row).
ChunkHook = Callable[[AsyncSession, ImportProgress], Awaitable[None]]


@dataclass(frozen=True)
class ImportTarget:
    user_id: int | None  # None = the global list
    actor_id: int
    default_reason: str | None = None
    import_id: int | None = None


async def import_stream(
    db: Database,
    chunks: AsyncIterable[bytes],
    target: ImportTarget,
    *,
    on_chunk: ChunkHook | None = None,
    progress: ImportProgress | None = None,
) -> ImportProgress:
    """Import every good row of the CSV; raise InvalidInput if it has no content at all."""
    progress = progress or ImportProgress()
    parser = SuppressionCsv()
    digest = hashlib.sha256()
    pending: list[suppression_bulk.BulkRow] = []
    seen: dict[tuple[str, str], None] = {}
    async for chunk in chunks:
        digest.update(chunk)
        progress.bytes += len(chunk)
        # Parsing and address validation are CPU work (~30 us a row): done in
        # slices, letting other requests' steps run in between. (A worker thread
        # fights the event loop and the SQLite thread for the GIL instead.)
        for count, row in enumerate(parser.feed(chunk), start=1):
            _take(row, pending, seen, progress, target)
            if count % SLICE_ROWS == 0:
                await asyncio.sleep(0)
        if len(pending) >= CHUNK_ROWS:
            while len(pending) >= CHUNK_ROWS:
                await _write(db, pending[:CHUNK_ROWS], target, progress, on_chunk)
                del pending[:CHUNK_ROWS]
            # In-memory de-duplication covers the rows not yet written; the
            # unique indexes catch repeats of rows already written.
            seen.clear()
            seen.update(((row.kind, row.value), None) for row in pending)
    _take_all(parser.finish(), pending, seen, progress, target)
    progress.lines = parser.lines_read
    if not parser.saw_content:
        raise InvalidInput("body", "the CSV is empty")
    await _write(db, pending, target, progress, on_chunk)
    progress.digest = digest.hexdigest()
    if progress.added:
        async with db.transaction() as session:
            await audit.append(session, _audit_record(target, progress))
    return progress


def _take_all(
    rows: Iterable[CsvRow],
    pending: list[suppression_bulk.BulkRow],
    seen: dict[tuple[str, str], None],
    progress: ImportProgress,
    target: ImportTarget,
) -> None:
    for row in rows:
        _take(row, pending, seen, progress, target)


def _take(
    row: CsvRow,
    pending: list[suppression_bulk.BulkRow],
    seen: dict[tuple[str, str], None],
    progress: ImportProgress,
    target: ImportTarget,
) -> None:
    progress.lines = row.line
    if row.error is not None or row.target is None:
        progress.reject(row.line, row.target, row.error or "invalid row")
        return
    try:
        kind, value = parse_target(row.target)
    except InvalidInput as exc:
        progress.reject(row.line, row.target, exc.message)
        return
    key = (kind.value, value)
    if key in seen:  # repeated within the pending rows: the first one wins
        progress.duplicate += 1
        return
    seen[key] = None
    pending.append(suppression_bulk.BulkRow(kind.value, value, row.reason or target.default_reason))


async def _write(
    db: Database,
    rows: list[suppression_bulk.BulkRow],
    target: ImportTarget,
    progress: ImportProgress,
    on_chunk: ChunkHook | None,
) -> None:
    if not rows and on_chunk is None:
        return
    async with db.transaction() as session:
        added = await suppression_bulk.insert_ignoring_duplicates(
            session,
            rows,
            user_id=target.user_id,
            source=SuppressionSource.IMPORT.value,
            created_at=utcnow(),
        )
        progress.added += added
        progress.duplicate += len(rows) - added
        if on_chunk is not None:
            await on_chunk(session, progress)


def _audit_record(target: ImportTarget, progress: ImportProgress) -> audit.AuditRecord:
    details: dict[str, Any] = {
        "scope": "global" if target.user_id is None else "user",
        "source": SuppressionSource.IMPORT.value,
        "sha256": progress.digest,
        "bytes": progress.bytes,
        "lines": progress.lines,
        "added": progress.added,
        "duplicate": progress.duplicate,
        "invalid": progress.invalid_count,
    }
    if target.import_id is not None:
        details["import_id"] = target.import_id
    return audit.AuditRecord(
        event="suppression_import",
        user_id=target.actor_id if target.user_id is None else target.user_id,
        reason=target.default_reason,
        details=details,
    )


def _preview(value: str | None) -> str:
    if value is None:
        return ""
    return value if len(value) <= 80 else value[:77] + "..."
