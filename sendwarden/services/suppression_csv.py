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


@dataclass(frozen=True)
class Columns:
    """Where the target and the reason are (-1: no reason column)."""

    target: int = 0
    reason: int = 1


# (line number, raw bytes or None for an overlong line, the overlong line's start)
RawLine = tuple[int, bytes | None, bytes]


def parse_line(line: RawLine, columns: Columns, *, first: bool = False) -> CsvRow | None:
    """One data line as a row (None for a blank line). Pure: runs in any process."""
    number, raw, overlong_start = line
    if raw is None:
        preview = overlong_start.decode("utf-8", "replace")
        return CsvRow(number, preview, None, f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError:
        return CsvRow(number, None, None, "line is not valid UTF-8")
    if not text.strip():
        return None
    try:
        cells = next(csv.reader([text]))
    except csv.Error as exc:
        return CsvRow(number, None, None, f"malformed CSV: {exc}")
    return row_of_cells(number, cells, columns)


def row_of_cells(number: int, cells: list[str], columns: Columns) -> CsvRow:
    if columns.target >= len(cells) or not cells[columns.target].strip():
        return CsvRow(number, None, None, "no email or domain in this row")
    reason_col = columns.reason
    reason = from_cell(cells[reason_col].strip()) if 0 <= reason_col < len(cells) else None
    return CsvRow(number, from_cell(cells[columns.target].strip()), reason or None, None)


class SuppressionCsv:
    """Accepted shapes: a header naming an `email`, `domain`, `value` or `address`
    column (and optionally `reason`), or headerless rows of `target[,reason]`.

    `lines()` splits the stream and reads the header; the data lines it returns
    are turned into rows by `parse_line` (in this process or a helper).
    """

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self.columns = Columns()
        self._first = True
        self.saw_content = False
        self.first_row: CsvRow | None = None  # line 1 when it is data, not a header

    @property
    def lines_read(self) -> int:
        return self._lines.line

    def lines(self, chunk: bytes) -> list[RawLine]:
        return self._data_lines(self._lines.feed(chunk))

    def finish_lines(self) -> list[RawLine]:
        return self._data_lines(self._lines.finish())

    def _data_lines(self, split: Iterator[tuple[int, bytes | None]]) -> list[RawLine]:
        out: list[RawLine] = []
        for number, raw in split:
            line: RawLine = (number, raw, self._lines.overlong_start if raw is None else b"")
            if self._first:
                self._first = False
                self._read_first(line)
            else:
                out.append(line)
        return out

    def _read_first(self, line: RawLine) -> None:
        """Line 1: a header (sets the columns) or a data row (kept in first_row)."""
        number, raw, _ = line
        if raw is not None:
            try:
                cells = next(csv.reader([raw.decode("utf-8-sig")]))
            except (UnicodeDecodeError, csv.Error):
                cells = []
            if cells and self._is_header(cells):
                self.saw_content = True
                return
        self.first_row = parse_line(line, self.columns, first=True)
        if self.first_row is not None:
            self.saw_content = True

    def _is_header(self, cells: list[str]) -> bool:
        header = [h.strip().lower() for h in cells]
        names = [h for h in TARGET_HEADERS if h in header]
        if not names:
            return False
        self.columns = Columns(
            header.index(names[0]), header.index("reason") if "reason" in header else -1
        )
        return True
