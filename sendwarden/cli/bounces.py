"""`sendwarden bounces list` and `sendwarden incidents list`: inbound evidence, per user."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.audit import parse_time
from sendwarden.cli.output import print_page
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
)
from sendwarden.services.inbound_events import STATUS_FILTER, bounce_page, incident_page
from sendwarden.storage import inbound_events

bounces_app = typer.Typer(
    help="Hard and soft bounces: status, diagnostic, matched attempt, why classified so.",
    no_args_is_help=True,
)
incidents_app = typer.Typer(
    help="Sender incidents: policy/reputation refusals of OUR sending (recipient untouched).",
    no_args_is_help=True,
)

_STATUS = re.compile(STATUS_FILTER)


class BounceKind(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class EventSourceOption(StrEnum):
    DSN = "dsn"
    SMTP = "smtp"


StatusOption = Annotated[
    str | None, typer.Option("--status", help="Status code or prefix: 5, 5.1, 5.1.1.")
]
RecipientOption = Annotated[
    str | None, typer.Option("--recipient", help="An address, or a domain.")
]
SourceOption = Annotated[
    EventSourceOption | None,
    typer.Option("--source", help="dsn (returned by mail) or smtp (refused at send time)."),
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="From this ISO 8601 time (UTC if no zone).")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Before this ISO 8601 time (UTC if no zone).")
]


def _filter(
    user_id: int,
    *,
    kind: str | None,
    status: str | None,
    recipient: str | None,
    source: EventSourceOption | None,
    since: str | None,
    until: str | None,
) -> inbound_events.EventFilter:
    if status is not None and not _STATUS.match(status):
        raise typer.BadParameter(f"{status!r} is not a status code such as 5.1.1")
    return inbound_events.EventFilter(
        user_id=user_id,
        kind=kind,
        status=status,
        recipient=recipient,
        source=source.value if source else None,
        since=parse_time(since),
        until=parse_time(until),
    )


@bounces_app.command("list")
def list_bounces(
    kind: Annotated[BounceKind | None, typer.Option("--kind", help="hard or soft.")] = None,
    status: StatusOption = None,
    recipient: RecipientOption = None,
    source: SourceOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List your bounces, newest first, with what was matched and why."""

    async def work(session: AsyncSession) -> tuple[list[dict[str, Any]], int]:
        owner = await acting_user(session, user)
        query = _filter(
            owner.id,
            kind=kind.value if kind else None,
            status=status,
            recipient=recipient,
            source=source,
            since=since,
            until=until,
        )
        page = await bounce_page(session, query, limit=limit, offset=offset)
        return [item.model_dump(mode="json") for item in page.items], page.total

    items, total = in_transaction(work)
    print_page(
        items,
        [
            ("ID", "id"),
            ("Time (UTC)", "created_at"),
            ("Recipient", "recipient"),
            ("Class", "classification"),
            ("Status", "status"),
            ("Via", "source"),
            ("Attempt", "attempt_id"),
            ("Why", "explanation"),
        ],
        total=total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@incidents_app.command("list")
def list_incidents(
    status: StatusOption = None,
    recipient: RecipientOption = None,
    source: SourceOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List refusals of your sending (policy, reputation, content), newest first."""

    async def work(session: AsyncSession) -> tuple[list[dict[str, Any]], int]:
        owner = await acting_user(session, user)
        query = _filter(
            owner.id,
            kind=None,
            status=status,
            recipient=recipient,
            source=source,
            since=since,
            until=until,
        )
        page = await incident_page(session, query, limit=limit, offset=offset)
        return [item.model_dump(mode="json") for item in page.items], page.total

    items, total = in_transaction(work)
    print_page(
        items,
        [
            ("ID", "id"),
            ("Time (UTC)", "created_at"),
            ("Sender", "sender_email"),
            ("Recipient", "recipient"),
            ("Status", "status"),
            ("Via", "source"),
            ("Attempt", "attempt_id"),
            ("Diagnostic", "diagnostic"),
        ],
        total=total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(bounces_app, name="bounces")
    app.add_typer(incidents_app, name="incidents")
