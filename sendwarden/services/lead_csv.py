"""Reading a lead CSV (pure): the records of a file with a header row, line by line.

Bad lines come back as rows with an error and their line number, so that an import
adds the good rows and reports the others.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

LEAD_COLUMNS = ("website_url", "contact_email", "contact_name", "consent", "notes")
PREVIEW_CHARS = 80


class LeadCsvError(ValueError):
    """The file as a whole cannot be read as a lead CSV (no or a wrong header)."""


@dataclass(frozen=True)
class CsvRow:
    """One record of a lead CSV: its first line number and its non-empty cells, or an error."""

    line: int
    values: dict[str, str]
    error: str | None = None

    @property
    def preview(self) -> str:
        value = self.values.get("website_url", "")
        return value if len(value) <= PREVIEW_CHARS else value[: PREVIEW_CHARS - 3] + "..."


class _NumberedLines:
    """Feeds csv.reader decoded lines while noting where it is and which lines were not UTF-8.

    Decoding line by line (not the whole file) keeps the good rows of a file with a few
    bytes in another encoding.
    """

    def __init__(self, data: bytes) -> None:
        self._raw = data.splitlines(keepends=True)
        self.consumed = 0
        self.undecodable: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._raw, start=1):
            self.consumed = number
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                self.undecodable.append(number)


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    expected = ",".join(LEAD_COLUMNS)
    unknown = [name for name in names if name not in LEAD_COLUMNS]
    if "website_url" not in names or unknown:
        problem = f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else "no column"
        raise LeadCsvError(f"the first line must be a header of {expected} ({problem} in it)")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise LeadCsvError(f"the header names {', '.join(duplicated)} more than once")
    return names


def _record(line: int, header: list[str], cells: list[str]) -> CsvRow:
    stripped = [cell.strip() for cell in cells]
    values = {name: value for name, value in zip(header, stripped, strict=False) if value}
    if any(stripped[len(header) :]):
        return CsvRow(line, values, f"more cells than the header's {len(header)} columns")
    return CsvRow(line, values)


def parse_lead_csv(data: bytes) -> list[CsvRow]:
    """The records of a lead CSV with a header row; blank lines are skipped.

    Undecodable and malformed lines come back as rows with an error, in file order.
    Raises LeadCsvError when the header is missing or names unknown columns.
    """
    lines = _NumberedLines(data)
    reader = csv.reader(iter(lines))
    header: list[str] | None = None
    rows: list[CsvRow] = []
    reported = 0
    while True:
        before = lines.consumed
        try:
            cells = next(reader, None)
            error = None
        except csv.Error as exc:
            cells, error = None, f"malformed CSV: {exc}"
        newly_undecodable = lines.undecodable[reported:]
        reported = len(lines.undecodable)
        rows.extend(CsvRow(n, {}, "line is not valid UTF-8") for n in newly_undecodable)
        first = next(
            (n for n in range(before + 1, lines.consumed + 1) if n not in newly_undecodable),
            lines.consumed,
        )
        if error is not None:
            rows.append(CsvRow(first, {}, error))
            continue
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = _header(cells)
            continue
        rows.append(_record(first, header, cells))
    if header is None:
        raise LeadCsvError(f"no header line: the first line must be {','.join(LEAD_COLUMNS)}")
    return rows
