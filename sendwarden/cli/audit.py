"""`sendwarden audit ...`: read, verify and export the keyed hash-chained audit log."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.errors import EXIT_USER_ERROR
from sendwarden.cli.output import (
    advance_to,
    print_error,
    print_page,
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
from sendwarden.services.csv_cells import to_cell
from sendwarden.storage import audit, audit_chain
from sendwarden.storage.db import Database
from sendwarden.storage.models import AuditEntry
from sendwarden.storage.types import utcnow

audit_app = typer.Typer(help="Read, verify and export the audit log.", no_args_is_help=True)

EXPORT_BATCH = 1000
EXPORT_COLUMNS = (
    "seq",
    "timestamp",
    "event",
    "user_id",
    "lead_email",
    "sender_email",
    "requested_sender_email",
    "subject",
    "policy_result",
    "reason",
    "legal_basis",
    "region",
    "attempt_id",
    "details",
    "entry_hash",
    "prev_hash",
)


class PolicyResult(StrEnum):
    APPROVED = "approved"
    BLOCKED = "blocked"


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 date or date-time; times without a zone are UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def entry_record(e: AuditEntry) -> dict[str, Any]:
    """Same keys as the HTTP API's audit entries."""
    return {
        "seq": e.seq,
        "timestamp": e.created_at,
        "event": e.event,
        "user_id": e.user_id,
        "lead_email": e.lead_email,
        "sender_email": e.sender_email,
        "requested_sender_email": e.requested_sender_email,
        "subject": e.subject,
        "policy_result": e.policy_result,
        "reason": e.reason,
        "legal_basis": e.legal_basis,
        "region": e.region,
        "attempt_id": e.attempt_id,
        "details": json.loads(e.details or "{}"),
        "entry_hash": e.entry_hash,
        "prev_hash": e.prev_hash,
    }


@audit_app.command("list")
def list_entries(
    since: Annotated[
        str | None, typer.Option("--since", help="From this ISO 8601 time (UTC if no zone).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this ISO 8601 time (UTC if no zone).")
    ] = None,
    result: Annotated[
        PolicyResult | None, typer.Option("--result", help="Only approved or blocked checks.")
    ] = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Only entries about this address.")
    ] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List your audit entries, newest first."""
    start, end = parse_time(since), parse_time(until)

    async def work(session: AsyncSession) -> tuple[list[AuditEntry], int]:
        owner = await acting_user(session, user)
        query = audit.AuditFilter(
            user_id=owner.id,
            since=start,
            until=end,
            policy_result=result.value if result else None,
            recipient=recipient,
        )
        return await audit.list_entries(session, query, limit=limit, offset=offset)

    rows, total = in_transaction(work)
    print_page(
        [entry_record(e) for e in rows],
        [
            ("Seq", "seq"),
            ("Time (UTC)", "timestamp"),
            ("Event", "event"),
            ("Recipient", "lead_email"),
            ("Result", "policy_result"),
            ("Reason", "reason"),
        ],
        total=total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


def _expected_head(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    try:
        return audit_chain.parse_head(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@audit_app.command("verify")
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="SEQ:HASH",
            help="A head recorded earlier (from this command's last line): fail unless"
            " the chain still reaches it unchanged (detects truncation and rewrites).",
        ),
    ] = None,
) -> None:
    """Check the keyed hash chain: exit 0 when intact, 1 naming the first broken entry.

    The last line printed is the verified head, `head: <seq> <hash>`: record it
    outside the database (e.g. from cron) and pass it back with --expect-head.
    """
    expected = _expected_head(expect_head)

    async def work(session: AsyncSession) -> audit_chain.ChainReport:
        return await audit_chain.verify_chain(session, expect_head=expected)

    report = in_transaction(work)
    if report.ok:
        sealed = f" ({report.legacy_entries} sealed legacy)" if report.legacy_entries else ""
        typer.echo(f"OK: {report.entries_checked} entries verified{sealed}")
        typer.echo(report.head_line)
        return
    where = f"entry {report.first_broken_seq}" if report.first_broken_seq else "the chain head"
    print_error(
        f"audit log tampered at {where}: {report.problem}"
        f" ({report.entries_checked} entries before it verified)"
    )
    raise typer.Exit(EXIT_USER_ERROR)


@audit_app.command("export")
def export(
    file: Annotated[str, typer.Argument(help="Output file, or - for standard output.")],
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="JSON Lines or CSV (for spreadsheets: a cell that would start a formula"
            " gets a leading ').",
        ),
    ] = ExportFormat.JSONL,
    user: UserOption = None,
) -> None:
    """Export all your audit entries, oldest first, as JSON Lines or CSV."""
    snapshot = utcnow()  # entries appended during the export are left out, so pages stay put

    async def count(session: AsyncSession) -> tuple[audit.AuditFilter, int]:
        owner = await acting_user(session, user)
        query = audit.AuditFilter(user_id=owner.id, until=snapshot)
        _, total = await audit.list_entries(session, query, limit=1, offset=0)
        return query, total

    query, total = in_transaction(count)
    with ExitStack() as stack:
        out: IO[str] = (
            sys.stdout
            if file == "-"
            else stack.enter_context(Path(file).open("w", encoding="utf-8", newline=""))
        )
        write = _writer(out, fmt)
        progress = stack.enter_context(progress_bar("Exporting audit log", total))

        async def work(db: Database) -> int:
            done = 0
            # Pages come newest first; walking them from the last keeps the file chronological.
            for end in range(total, 0, -EXPORT_BATCH):
                begin = max(end - EXPORT_BATCH, 0)
                async with db.transaction() as session:
                    rows, _ = await audit.list_entries(
                        session, query, limit=end - begin, offset=begin
                    )
                for entry in reversed(rows):
                    write(entry_record(entry))
                done += len(rows)
                advance_to(progress, done)
            return done

        exported = with_database(work)
    if file != "-":
        typer.echo(f"Exported {exported} audit entries to {file}.")


def _writer(out: IO[str], fmt: ExportFormat) -> Callable[[dict[str, Any]], None]:
    if fmt is ExportFormat.JSONL:

        def write_jsonl(record: dict[str, Any]) -> None:
            out.write(json.dumps(record, ensure_ascii=False, default=_iso) + "\n")

        return write_jsonl
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()

    def write_csv(record: dict[str, Any]) -> None:
        row = {
            **record,
            "timestamp": record["timestamp"].isoformat(),
            "details": json.dumps(record["details"], ensure_ascii=False, sort_keys=True),
        }
        writer.writerow({k: to_cell(v) if isinstance(v, str) else v for k, v in row.items()})

    return write_csv


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
