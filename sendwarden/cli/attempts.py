"""`sendwarden attempts ...`: what happened to each send request."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.output import print_fields, print_json, print_page, print_table
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
)
from sendwarden.schemas.attempts import AttemptOut
from sendwarden.schemas.common import Page
from sendwarden.services import resolution
from sendwarden.services.attempts import attempt_page
from sendwarden.services.errors import NotFound
from sendwarden.storage import attempts
from sendwarden.storage.models import Attempt, AttemptStatus

attempts_app = typer.Typer(help="List and inspect send attempts.", no_args_is_help=True)


def attempt_record(attempt: Attempt) -> dict[str, Any]:
    """The HTTP API's attempt, as JSON-ready values (never the SMTP server's own words)."""
    return AttemptOut.from_row(attempt).model_dump(mode="json")


def print_attempt(record: dict[str, Any]) -> None:
    print_fields(
        [(k, v) for k, v in record.items() if k != "checks"], title=f"Attempt {record['id']}"
    )
    if record["checks"]:
        print_table(
            ["Check", "Result", "Detail"],
            [(c["name"], "pass" if c["passed"] else "FAIL", c["detail"]) for c in record["checks"]],
        )


@attempts_app.command("list")
def list_attempts(
    status: Annotated[
        AttemptStatus | None,
        typer.Option("--status", help="Only attempts in this state, e.g. unknown."),
    ] = None,
    campaign: Annotated[
        int | None, typer.Option("--campaign", min=1, help="Only this campaign's attempts.")
    ] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List your attempts, newest first, optionally of one campaign and/or in one state.

    `--status unknown` lists the sends interrupted by a crash, which an operator
    must check by hand before sending again.
    """

    async def work(session: AsyncSession) -> Page[AttemptOut]:
        owner = await acting_user(session, user)
        return await attempt_page(
            session, owner.id, campaign_id=campaign, status=status, limit=limit, offset=offset
        )

    page = in_transaction(work)
    print_page(
        [a.model_dump(mode="json") for a in page.items],
        [
            ("ID", "id"),
            ("Created (UTC)", "created_at"),
            ("Status", "status"),
            ("Recipient", "recipient_email"),
            ("Region", "region"),
            ("Basis", "legal_basis"),
            ("Subject", "subject"),
            ("Reason", "reason"),
        ],
        total=page.total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@attempts_app.command("show")
def show_attempt(
    attempt_id: Annotated[int, typer.Argument(help="Attempt ID.", min=1)],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one attempt with its policy checks."""

    async def work(session: AsyncSession) -> Attempt:
        owner = await acting_user(session, user)
        found = await attempts.get_attempt(session, user_id=owner.id, attempt_id=attempt_id)
        if found is None:
            raise NotFound(f"attempt {attempt_id} not found")
        return found

    record = attempt_record(in_transaction(work))
    if as_json:
        print_json(record)
    else:
        print_attempt(record)


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"


@attempts_app.command("resolve")
def resolve(
    attempt_id: Annotated[int, typer.Argument(help="ID of an attempt in state unknown.", min=1)],
    outcome: Annotated[
        Outcome, typer.Option("--outcome", help="What the mail server's logs show.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="Why (kept in the audit log).")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Settle an `unknown` attempt after checking the mail server's logs.

    `failed` releases its duplicate-protection key so the pitch can be sent again;
    `sent` keeps it.
    """

    async def work(session: AsyncSession) -> Attempt:
        owner = await acting_user(session, user)
        return await resolution.resolve_unknown(
            session,
            user_id=owner.id,
            attempt_id=attempt_id,
            outcome="sent" if outcome is Outcome.SENT else "failed",
            note=note,
        )

    record = attempt_record(in_transaction(work))
    if as_json:
        print_json(record)
    else:
        typer.echo(f"Attempt {record['id']} is now {record['status']}.")


def register(app: typer.Typer) -> None:
    app.add_typer(attempts_app, name="attempts")
