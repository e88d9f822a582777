"""Printing: stable JSON for scripts, Rich tables for people, one-line errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

# Piped output is not wrapped at 80 columns: tables would break addresses apart.
PIPED_WIDTH = 160

# Rich resolves sys.stderr at print time, so test runners that swap it still capture.
err_console = Console(stderr=True, highlight=False)


def out() -> Console:
    """A console on the current stdout, wide when stdout is not a terminal."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=PIPED_WIDTH)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, never wrapped or coloured."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return json_time(value)
    return str(value)


def json_time(value: datetime) -> str:
    """UTC in ISO 8601 with `Z`, as the HTTP API writes it (naive values are UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def print_error(message: str) -> None:
    """Exactly one line on stderr, whatever the message contains."""
    typer.echo(f"Error: {one_line(message)}", err=True)


def one_line(text: str) -> str:
    return " ".join(text.split())


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return fmt_time(value)
    return str(value)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(fmt(cell) for cell in row))
    if not table.row_count:
        table.caption = "(none)"
    out().print(table)


def print_fields(pairs: Iterable[tuple[str, Any]], *, title: str | None = None) -> None:
    """A two-column key/value table for one record."""
    table = Table(show_header=False, title=title, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in pairs:
        table.add_row(key, fmt(value))
    out().print(table)


def print_page(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    total: int,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """One page of a list command: JSON with the paging fields, or a table of `columns`
    ((heading, record key) pairs) and, when there is more, a footer on stderr."""
    if as_json:
        print_json({"items": list(records), "total": total, "limit": limit, "offset": offset})
        return
    print_table(
        [heading for heading, _ in columns], [[r[key] for _, key in columns] for r in records]
    )
    shown = len(records)
    if total > shown:
        first = offset + 1 if shown else offset
        err_console.print(f"{first}-{offset + shown} of {total} (use --offset/--limit for more)")


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Progress]:
    """A progress bar on stderr so that stdout stays clean for data."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    with progress:
        progress.add_task(description, total=total)
        yield progress


def advance_to(progress: Progress, completed: int) -> None:
    progress.update(progress.task_ids[0], completed=completed)
