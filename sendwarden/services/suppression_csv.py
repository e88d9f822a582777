"""Incremental parsing of a suppression CSV: bytes in any chunks, rows with line numbers.

Each physical line is one record (as before: quoted fields do not span lines),
so a line that is not UTF-8 or not CSV is reported alone and the rest is kept.
Memory stays bounded whatever the input: a line longer than MAX_LINE_BYTES is
reported as too long and skipped without being buffered.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from sendwarden.services.csv_cells import from_cell

MAX_LINE_BYTES = 64 * 1024
TARGET_HEADERS = ("email", "domain", "value", "address")


@dataclass(frozen=True)
class CsvRow:
    line: int
    target: str | None
    reason: str | None
    error: str | None


class LineSplitter:
    """Splits a byte stream into lines the way bytes.splitlines() does (\\n, \\r, \\r\\n)."""

    def __init__(self) -> None:
        self._pending = b""
        self._overlong: bytes | None = None  # the start of a line being skipped
        self.line = 0

    def feed(self, chunk: bytes) -> Iterator[tuple[int, bytes | None]]:
        """(line number, raw line) per complete line; raw is None for an overlong line."""
        data = self._pending + chunk
        lines = data.splitlines(keepends=True)
        # The last piece may continue in the next chunk (no ending yet, or a '\r'
        # whose '\n' has not arrived).
        self._pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for raw in lines:
            yield self._complete(raw.rstrip(b"\r\n"))
        if len(self._pending) > MAX_LINE_BYTES:
            if self._overlong is None:
                self._overlong = self._pending[:100]
            self._pending = b""

    def finish(self) -> Iterator[tuple[int, bytes | None]]:
        if self._pending or self._overlong is not None:
            raw, self._pending = self._pending.rstrip(b"\r\n"), b""
            yield self._complete(raw)

    def _complete(self, raw: bytes) -> tuple[int, bytes | None]:
        self.line += 1
        if self._overlong is not None:
            self.overlong_start, self._overlong = self._overlong, None
            return self.line, None
        if len(raw) > MAX_LINE_BYTES:
            self.overlong_start = raw[:100]
            return self.line, None
        return self.line, raw

    overlong_start: bytes = b""


class SuppressionCsv:
    """Accepted shapes: a header naming an `email`, `domain`, `value` or `address`
    column (and optionally `reason`), or headerless rows of `target[,reason]`."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._target_col, self._reason_col = 0, 1
        self._first = True
        self.saw_content = False

    @property
    def lines_read(self) -> int:
        return self._lines.line

    def feed(self, chunk: bytes) -> Iterator[CsvRow]:
        for number, raw in self._lines.feed(chunk):
            row = self._row(number, raw)
            if row is not None:
                yield row

    def finish(self) -> Iterator[CsvRow]:
        for number, raw in self._lines.finish():
            row = self._row(number, raw)
            if row is not None:
                yield row

    def _row(self, number: int, raw: bytes | None) -> CsvRow | None:
        first, self._first = self._first, False
        if raw is None:
            self.saw_content = True
            preview = self._lines.overlong_start.decode("utf-8", "replace")
            return CsvRow(number, preview, None, f"line longer than {MAX_LINE_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig" if first else "utf-8")
        except UnicodeDecodeError:
            self.saw_content = self.saw_content or bool(raw.strip())
            return CsvRow(number, None, None, "line is not valid UTF-8")
        if not text.strip():
            return None
        self.saw_content = True
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            return CsvRow(number, None, None, f"malformed CSV: {exc}")
        if first and self._is_header(cells):
            return None
        if self._target_col >= len(cells) or not cells[self._target_col].strip():
            return CsvRow(number, None, None, "no email or domain in this row")
        reason_col = self._reason_col
        reason = from_cell(cells[reason_col].strip()) if 0 <= reason_col < len(cells) else None
        return CsvRow(number, from_cell(cells[self._target_col].strip()), reason or None, None)

    def _is_header(self, cells: list[str]) -> bool:
        header = [h.strip().lower() for h in cells]
        names = [h for h in TARGET_HEADERS if h in header]
        if not names:
            return False
        self._target_col = header.index(names[0])
        self._reason_col = header.index("reason") if "reason" in header else -1
        return True
