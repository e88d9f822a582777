"""`sendwarden suppress ...`: the do-not-contact list (addresses and whole domains)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.errors import CliError
from sendwarden.cli.output import (
    advance_to,
    print_json,
    print_page,
    print_table,
    progress_bar,
)
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
    with_database,
)
from sendwarden.services import suppression as suppressions
from sendwarden.services import suppression_jobs
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.services.suppression_export import export_csv
from sendwarden.services.suppression_import import ImportProgress, ImportTarget, import_stream
from sendwarden.storage import suppression, suppression_bulk
from sendwarden.storage.db import Database
from sendwarden.storage.models import Suppression, SuppressionSource

suppress_app = typer.Typer(
    help="Manage the suppression list (addresses or whole domains, per user or global).",
    no_args_is_help=True,
)

GlobalOption = Annotated[
    bool,
    typer.Option("--global", help="The global list, which applies to all users (admins only)."),
]
TargetArgument = Annotated[
    str, typer.Argument(help="An address (name@example.com) or a domain (example.com).")
]


def _scope(is_global: bool) -> str:
    return "global" if is_global else "user"


def suppression_record(row: Suppression) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "value": row.value,
        "covers": suppressions.coverage(row.kind, row.value),
        "reason": row.reason,
        "source": row.source,
        "scope": "global" if row.user_id is None else "user",
        "evidence": json.loads(row.evidence) if row.evidence else None,  # why, when automatic
        "created_at": row.created_at,
    }


@suppress_app.command("add")
def add(
    target: TargetArgument,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept for audits).")] = None,
    is_global: GlobalOption = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suppress an address, or a whole registrable domain."""

    async def work(session: AsyncSession) -> tuple[Suppression, bool]:
        owner = await acting_user(session, user)
        kind, value = suppressions.parse_target(target)
        return await suppressions.add(
            session,
            user_id=suppressions.owner_for(owner, _scope(is_global)),
            actor_id=owner.id,
            kind=kind,
            value=value,
            reason=reason,
            source=SuppressionSource.MANUAL,
        )

    row, created = in_transaction(work)
    record = suppression_record(row)
    if as_json:
        print_json({**record, "created": created})
        return
    state = "Suppressed" if created else "Already suppressed"
    typer.echo(f"{state}: {row.kind} {row.value} ({record['scope']} list).")
    typer.echo(f"Covers {record['covers']}.")


@suppress_app.command("list")
def list_entries(
    search: Annotated[
        str | None,
        typer.Option("--search", help="Case-insensitive prefix of the address or domain."),
    ] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the entries that apply to you: your own and the global ones."""

    async def work(session: AsyncSession) -> tuple[list[Suppression], int]:
        owner = await acting_user(session, user)
        return await suppression.list_visible(
            session, user_id=owner.id, search=search, limit=limit, offset=offset
        )

    rows, total = in_transaction(work)
    print_page(
        [suppression_record(r) for r in rows],
        [
            ("ID", "id"),
            ("Kind", "kind"),
            ("Value", "value"),
            ("Scope", "scope"),
            ("Source", "source"),
            ("Reason", "reason"),
            ("Added (UTC)", "created_at"),
        ],
        total=total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@suppress_app.command("remove")
def remove(
    target: TargetArgument, is_global: GlobalOption = False, user: UserOption = None
) -> None:
    """Lift a suppression (exactly as it was added: address or domain)."""

    async def work(session: AsyncSession) -> Suppression:
        owner = await acting_user(session, user)
        row = await suppressions.remove(session, user=owner, target=target, scope=_scope(is_global))
        if row is None:
            raise NotFound(f"{target!r} is not on the {_scope(is_global)} suppression list")
        return row

    row = in_transaction(work)
    typer.echo(f"Removed: {row.kind} {row.value}.")


@suppress_app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with an email/domain column (header) or target[,reason] rows.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Reason for rows that give none.")
    ] = None,
    is_global: GlobalOption = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a CSV; good rows are added, bad rows are reported with their line numbers.

    Exit status 0 even when some rows are invalid (they are listed).
    """
    size = file.stat().st_size
    if size < 64 * 1024 and not file.read_bytes().strip():  # larger ones: found while reading
        raise CliError(f"{file} is empty")

    async def work(db: Database) -> ImportProgress:
        async with db.read() as session:
            owner = await acting_user(session, user)
        target = ImportTarget(
            user_id=suppressions.owner_for(owner, _scope(is_global)),
            actor_id=owner.id,
            default_reason=reason,
        )
        progress = ImportProgress()
        with progress_bar(f"Importing {file.name} (bytes)", size) as bar:

            async def chunks() -> AsyncIterator[bytes]:
                async for chunk in suppression_jobs.file_chunks(file):
                    yield chunk
                    advance_to(bar, progress.bytes)

            try:
                return await import_stream(db, chunks(), target, progress=progress)
            except InvalidInput as exc:
                raise CliError(f"{file} is empty") from exc
            finally:
                advance_to(bar, progress.bytes)

    result = with_database(work)
    invalid = [{"line": n, "value": v, "error": e} for n, v, e in result.invalid]
    if as_json:
        print_json({"added": result.added, "duplicate": result.duplicate, "invalid": invalid})
        return
    typer.echo(
        f"Added {result.added}, already present {result.duplicate}, invalid {result.invalid_count}."
    )
    if invalid:
        print_table(
            ["Line", "Value", "Problem"],
            [(i["line"], i["value"], i["error"]) for i in invalid],
            title="Rows not imported",
        )


@suppress_app.command("export")
def export(
    file: Annotated[str, typer.Argument(help="Output CSV file, or - for standard output.")] = "-",
    user: UserOption = None,
) -> None:
    """Export the entries that apply to you as CSV (the format `import` reads), streamed."""

    async def work(db: Database) -> int:
        async with db.read() as session:
            owner = await acting_user(session, user)
            total = await suppression_bulk.count(session, user_id=owner.id, prefix=None)
        if file == "-":
            async for text, _ in export_csv(db, user_id=owner.id):
                sys.stdout.write(text)
            sys.stdout.flush()
            return total
        written = 0
        with progress_bar(f"Exporting to {Path(file).name}", total) as bar:
            async with await anyio.open_file(file, "w", encoding="utf-8", newline="") as out:
                async for text, rows in export_csv(db, user_id=owner.id):
                    await out.write(text)
                    written += rows
                    advance_to(bar, written)
        return written

    written = with_database(work)
    if file != "-":
        typer.echo(f"Exported {written} entries to {file}.")


def register(app: typer.Typer) -> None:
    app.add_typer(suppress_app, name="suppress")
