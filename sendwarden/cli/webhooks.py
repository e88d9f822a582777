"""`sendwarden webhooks ...`: signed event webhooks (the same operations as /webhooks)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.output import print_json, print_page, print_table
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
    settings,
    with_database,
)
from sendwarden.storage.db import Database
from sendwarden.storage.models import WebhookEndpoint
from sendwarden.webhooks import endpoints, signing
from sendwarden.webhooks.catalogue import EVENT_TYPES
from sendwarden.webhooks.dispatcher import Dispatcher

webhooks_app = typer.Typer(
    help="Signed event webhooks (Standard Webhooks) to your application.", no_args_is_help=True
)

IdArgument = Annotated[int, typer.Argument(help="Webhook ID.", min=1, max=2**31 - 1)]
EventsOption = Annotated[
    list[str] | None,
    typer.Option("--event", help="Receive only this event type (repeatable); default all."),
]


def webhook_record(row: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": endpoints.event_list(row),
        "enabled": row.enabled,
        "created_at": row.created_at,
    }


def _events_text(events: list[str]) -> str:
    return "all" if len(events) == len(EVENT_TYPES) else ", ".join(events)


def _show(record: dict[str, Any], as_json: bool, *, secret: str | None = None) -> None:
    if secret is not None:
        record = {**record, "secret": secret}
    if as_json:
        print_json(record)
        return
    state = "enabled" if record["enabled"] else "disabled"
    shown = _events_text(record["events"])
    typer.echo(f"Webhook {record['id']}: {record['url']} ({state}; events: {shown})")
    if secret is not None:
        typer.echo("Signing secret (shown only now; store it in your receiver):")
        typer.echo(secret)


@webhooks_app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="The https:// URL to POST events to.")],
    events: EventsOption = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an endpoint; prints its signing secret once, as the last line."""
    config = settings()

    async def work(session: AsyncSession) -> tuple[dict[str, Any], str]:
        owner = await acting_user(session, user)
        row, secret = await endpoints.create(
            session,
            user_id=owner.id,
            url=url,
            events=events,
            allow_private=config.sendwarden_webhooks_allow_private,
            box=await signing.secret_box(session, config),
        )
        return webhook_record(row), secret

    record, secret = in_transaction(work)
    _show(record, as_json, secret=secret)


@webhooks_app.command("list")
def list_webhooks(user: UserOption = None, as_json: JsonOption = False) -> None:
    """List your webhook endpoints (never their secrets)."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        owner = await acting_user(session, user)
        return [webhook_record(r) for r in await endpoints.list_for(session, user_id=owner.id)]

    records = in_transaction(work)
    if as_json:
        print_json(records)
        return
    print_table(
        ("ID", "URL", "Enabled", "Events"),
        (
            (
                r["id"],
                r["url"],
                r["enabled"],
                _events_text(r["events"]),
            )
            for r in records
        ),
    )


@webhooks_app.command("update")
def update(
    webhook_id: IdArgument,
    url: Annotated[str | None, typer.Option("--url", help="A new target URL.")] = None,
    events: EventsOption = None,
    all_events: Annotated[bool, typer.Option("--all-events", help="Receive every event.")] = False,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn deliveries on or off.")
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an endpoint's URL, events or enabled state."""
    allow_private = settings().sendwarden_webhooks_allow_private

    async def work(session: AsyncSession) -> dict[str, Any]:
        owner = await acting_user(session, user)
        row = await endpoints.update_endpoint(
            session,
            user_id=owner.id,
            endpoint_id=webhook_id,
            url=url,
            events=events,
            all_events=all_events,
            enabled=enabled,
            allow_private=allow_private,
        )
        return webhook_record(row)

    _show(in_transaction(work), as_json)


@webhooks_app.command("delete")
def delete(webhook_id: IdArgument, user: UserOption = None) -> None:
    """Delete an endpoint and its deliveries."""

    async def work(session: AsyncSession) -> None:
        owner = await acting_user(session, user)
        await endpoints.delete(session, user_id=owner.id, endpoint_id=webhook_id)

    in_transaction(work)
    typer.echo(f"Deleted webhook {webhook_id}.")


@webhooks_app.command("rotate")
def rotate(webhook_id: IdArgument, user: UserOption = None, as_json: JsonOption = False) -> None:
    """New signing secret (printed once); the old one keeps signing too for 24 hours."""

    async def work(session: AsyncSession) -> tuple[dict[str, Any], str]:
        owner = await acting_user(session, user)
        box = await signing.secret_box(session, settings())
        row, secret = await endpoints.rotate_secret(
            session, user_id=owner.id, endpoint_id=webhook_id, box=box
        )
        return webhook_record(row), secret

    record, secret = in_transaction(work)
    _show(record, as_json, secret=secret)


_DELIVERY_COLUMNS = (
    ("id", "ID"),
    ("event_type", "Event"),
    ("status", "Status"),
    ("attempts", "Attempts"),
    ("last_response_code", "Last code"),
    ("next_retry_at", "Next retry"),
    ("event_id", "webhook-id"),
)


@webhooks_app.command("deliveries")
def deliveries(
    webhook_id: IdArgument,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or dead.")
    ] = None,
    user: UserOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Deliveries of an endpoint, newest first: status, attempts, last code, next retry."""

    async def work(session: AsyncSession) -> tuple[list[dict[str, Any]], int]:
        owner = await acting_user(session, user)
        rows, total = await endpoints.deliveries(
            session,
            user_id=owner.id,
            endpoint_id=webhook_id,
            status=status,
            limit=limit,
            offset=offset,
        )
        return [vars(r) for r in rows], total

    records, total = in_transaction(work)
    print_page(records, _DELIVERY_COLUMNS, total=total, limit=limit, offset=offset, as_json=as_json)


def _deliver(user: str | None, webhook_id: int, prepare: Any) -> dict[str, Any]:
    """Queue with `prepare`, deliver at once (no server needed), report the delivery."""
    config = settings()

    async def run(db: Database) -> dict[str, Any]:
        async with db.transaction() as session:
            owner = await acting_user(session, user)
            delivery_id = await prepare(session, owner.id)
        dispatcher = Dispatcher.from_settings(config, db)
        try:
            await dispatcher.deliver_now(delivery_id)
        finally:
            await dispatcher.close()
        async with db.read() as session:
            view = await endpoints.delivery(
                session, user_id=owner.id, endpoint_id=webhook_id, delivery_id=delivery_id
            )
        return vars(view)

    return with_database(run)


def _report(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
        return
    code = record["last_response_code"]
    typer.echo(
        f"Delivery {record['id']} ({record['event_type']}): {record['status']}"
        + (f", HTTP {code}" if code is not None else "")
        + (f", {record['last_error']}" if record["last_error"] and code is None else "")
    )


@webhooks_app.command("test")
def test(webhook_id: IdArgument, user: UserOption = None, as_json: JsonOption = False) -> None:
    """Send a signed `webhook.test` ping now and show how the receiver answered."""

    async def prepare(session: AsyncSession, user_id: int) -> int:
        return await endpoints.queue_test(session, user_id=user_id, endpoint_id=webhook_id)

    _report(_deliver(user, webhook_id, prepare), as_json)


@webhooks_app.command("retry")
def retry(
    webhook_id: IdArgument,
    delivery_id: Annotated[int, typer.Argument(help="Delivery ID.", min=1, max=2**31 - 1)],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver a failed or dead delivery again now."""

    async def prepare(session: AsyncSession, user_id: int) -> int:
        await endpoints.retry(
            session, user_id=user_id, endpoint_id=webhook_id, delivery_id=delivery_id
        )
        return delivery_id

    _report(_deliver(user, webhook_id, prepare), as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
