"""Streamed suppression export: keyset pages on the read path, CSV written as it goes.

Each page is read in its own short read-only transaction (SQLite: no write
lock, no queueing behind writers), so a slow client holds neither a lock nor a
pooled connection while it drains the previous page. Memory stays at one page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sendwarden.services.csv_cells import to_cell
from sendwarden.storage import suppression_bulk
from sendwarden.storage.db import Database

CSV_COLUMNS = ("kind", "value", "reason", "source", "scope", "created_at")
PAGE_ROWS = 5000


def _csv_text(rows: Sequence[Any], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    writer.writerows(
        (
            row.kind,
            to_cell(row.value),
            to_cell(row.reason or ""),
            to_cell(row.source),
            "global" if row.user_id is None else "user",
            row.created_at.isoformat(),
        )
        for row in rows
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
