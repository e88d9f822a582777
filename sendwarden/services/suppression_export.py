"""Streamed suppression export: keyset pages on the read path, CSV written as it goes.

Each page is read in its own short read-only transaction (SQLite: no write
lock, no queueing behind writers), so a slow client holds neither a lock nor a
pooled connection while it drains the previous page. Memory stays at one page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sendwarden.services.csv_cells import to_cell
from sendwarden.storage import suppression_bulk
from sendwarden.storage.db import Database
from sendwarden.storage.suppression_bulk import ExportRow

CSV_COLUMNS = ("kind", "value", "reason", "source", "scope", "created_at")
# A page is formatted on the event loop in one go: small enough to be a short slice.
PAGE_ROWS = 2000


def _csv_text(rows: Sequence[ExportRow], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    stamps: dict[datetime, str] = {}  # an import's rows share their timestamp
    for row in rows:
        stamp = stamps.get(row.created_at)
        if stamp is None:
            stamp = stamps[row.created_at] = row.created_at.isoformat()
        writer.writerow(
            (
                row.kind,
                to_cell(row.value),
                to_cell(row.reason or ""),
                to_cell(row.source),
                "global" if row.user_id is None else "user",
                stamp,
            )
        )
    return buffer.getvalue()


async def export_csv(
    db: Database, *, user_id: int, page_rows: int = PAGE_ROWS
) -> AsyncIterator[tuple[str, int]]:
    """Yield (CSV text, rows in it): the header first, then one piece per page."""
    yield _csv_text((), header=True), 0
    after = 0
    while True:
        async with db.read() as session:
            rows = await suppression_bulk.page_after(
                session, user_id=user_id, after_id=after, limit=page_rows
            )
        if not rows:
            return
        yield _csv_text(rows, header=False), len(rows)
        if len(rows) < page_rows:
            return
        after = rows[-1].id
