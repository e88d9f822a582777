"""Bulk suppression import: streamed, chunked, one short transaction per chunk.

The same code backs `POST /suppression/import` and `sendwarden suppress import`.
Bytes arrive in any chunks (a request stream or a file); rows are parsed as they
come and written CHUNK_ROWS at a time with multi-row `INSERT ... ON CONFLICT DO
NOTHING`, each chunk in its own transaction, so the database writer (SQLite's
write lock, PostgreSQL's audit head) is held for milliseconds and other requests
interleave. The whole import is audited as ONE entry (file digest, counts, who)
written once at the end, and only when it added something, like single adds; so is
its webhook event (suppression.imported, one per import).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy.addresses import test_domains_allowed
from sendwarden.services import cpu_pool
from sendwarden.services.errors import InvalidInput
from sendwarden.services.suppression_csv import Columns, RawLine, SuppressionCsv
from sendwarden.services.suppression_rows import Checked, check_lines, check_row
from sendwarden.storage import audit, suppression_bulk
from sendwarden.storage.db import Database
from sendwarden.storage.models import SuppressionSource
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import emit as webhook_events

CHUNK_ROWS = 1000
SLICE_ROWS = 100
BATCH_LINES = 2000
MAX_BATCHES_IN_FLIGHT = 2
# Smaller imports are checked in the server (in slices): not worth a process. Checking
# in the server, even sliced, makes other requests wait for the GIL at each of their
# database round trips: at 5000 lines a health check waited 100 ms as an import began.
INLINE_LINES = 1000
# After this many new rows the planner's statistics are refreshed: with the ones from
# before a 1 M-row import, PostgreSQL picked the owner index for a prefix search and
# read every entry (71 ms instead of 0.2 ms) until autovacuum came by.
REFRESH_STATISTICS_ROWS = 10_000
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
    rows = _Rows(target, progress)
    lines: list[RawLine] = []
    # Batches being checked in the helper process, in order: the next one is
    # checked while this one is written and while more of the body arrives.
    checking: deque[asyncio.Future[_Checked]] = deque()
    try:
        async for chunk in chunks:
            digest.update(chunk)
            progress.bytes += len(chunk)
            lines.extend(parser.lines(chunk))
            rows.take_first(parser)
            while len(lines) >= BATCH_LINES:
                checking.append(_check_soon(lines[:BATCH_LINES], parser))
                del lines[:BATCH_LINES]
                while len(checking) > MAX_BATCHES_IN_FLIGHT:
                    await rows.add(await checking.popleft())
                    await rows.write_full_chunks(db, on_chunk)
        lines.extend(parser.finish_lines())
        rows.take_first(parser)
        checking.append(_check_soon(lines, parser))
        while checking:
            await rows.add(await checking.popleft())
            await rows.write_full_chunks(db, on_chunk)
    finally:
        for pending in checking:  # the upload failed: nobody waits for these
            pending.cancel()
    progress.lines = parser.lines_read
    if not (parser.saw_content or rows.saw_content):
        raise InvalidInput("body", "the CSV is empty")
    await _write(db, rows.pending, target, progress, on_chunk)
    progress.digest = digest.hexdigest()
    if progress.added:
        async with db.transaction() as session:
            await webhook_events.suppressions_imported(
                session,
                owner_id=target.user_id,
                actor_id=target.actor_id,
                summary=_event_summary(target, progress),
            )
            await audit.append(session, _audit_record(target, progress))
    if progress.added >= REFRESH_STATISTICS_ROWS:
        await suppression_bulk.refresh_statistics(db)
    return progress


_Checked = tuple[list[Checked], bool]


def _check_soon(lines: list[RawLine], parser: SuppressionCsv) -> asyncio.Future[_Checked]:
    """Check a batch of lines: in the helper process once the import is large
    enough to be worth it, else here in slices."""
    columns, test_domains = parser.columns, test_domains_allowed()
    if parser.lines_read <= INLINE_LINES:
        return asyncio.ensure_future(_check_here(lines, columns, test_domains))

    async def elsewhere() -> _Checked:
        done = await cpu_pool.run(check_lines, lines, columns, test_domains)
        return done if done is not None else await _check_here(lines, columns, test_domains)

    return asyncio.ensure_future(elsewhere())


async def _check_here(lines: list[RawLine], columns: Columns, test_domains: bool) -> _Checked:
    checked: list[Checked] = []
    saw = False
    for start in range(0, len(lines), SLICE_ROWS):
        await asyncio.sleep(0)
        part, any_content = check_lines(lines[start : start + SLICE_ROWS], columns, test_domains)
        checked += part
        saw = saw or any_content
    return checked, saw


class _Rows:
    """Checked rows in line order: counted, de-duplicated, written in chunks."""

    def __init__(self, target: ImportTarget, progress: ImportProgress) -> None:
        self.target, self.progress = target, progress
        self.pending: list[suppression_bulk.BulkRow] = []
        # Rows not yet written; the unique indexes catch repeats of written ones.
        self.seen: set[tuple[str, str]] = set()
        self.saw_content = False

    def take_first(self, parser: SuppressionCsv) -> None:
        if parser.first_row is not None:
            row, parser.first_row = parser.first_row, None
            self._take(check_row(row))

    async def add(self, checked: _Checked) -> None:
        batch, saw = checked
        self.saw_content = self.saw_content or saw
        for count, item in enumerate(batch, start=1):
            self._take(item)
            if count % (SLICE_ROWS * 10) == 0:
                await asyncio.sleep(0)

    def _take(self, item: Checked) -> None:
        progress = self.progress
        progress.lines = item.line
        if item.kind is None or item.value is None:
            progress.reject(item.line, item.value, item.error or "invalid row")
            return
        key = (item.kind, item.value)
        if key in self.seen:  # repeated within the pending rows: the first one wins
            progress.duplicate += 1
            return
        self.seen.add(key)
        reason = item.reason or self.target.default_reason
        self.pending.append(suppression_bulk.BulkRow(item.kind, item.value, item.mailbox, reason))

    async def write_full_chunks(self, db: Database, on_chunk: ChunkHook | None) -> None:
        if len(self.pending) < CHUNK_ROWS:
            return
        while len(self.pending) >= CHUNK_ROWS:
            await _write(db, self.pending[:CHUNK_ROWS], self.target, self.progress, on_chunk)
            del self.pending[:CHUNK_ROWS]
        self.seen = {(row.kind, row.value) for row in self.pending}


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


def _outcome(progress: ImportProgress) -> dict[str, Any]:
    """What the import did: in its audit entry and in its webhook event alike."""
    return {
        "sha256": progress.digest,
        "lines": progress.lines,
        "added": progress.added,
        "duplicate": progress.duplicate,
        "invalid": progress.invalid_count,
    }


def _event_summary(target: ImportTarget, progress: ImportProgress) -> dict[str, Any]:
    return {**_outcome(progress), "reason": target.default_reason, "import_id": target.import_id}


def _audit_record(target: ImportTarget, progress: ImportProgress) -> audit.AuditRecord:
    details: dict[str, Any] = {
        "scope": "global" if target.user_id is None else "user",
        "source": SuppressionSource.IMPORT.value,
        "bytes": progress.bytes,
        **_outcome(progress),
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
