"""`sendwarden poll`: one pass over the IMAP mailbox (replies, bounces, complaints)."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer

from sendwarden.cli.output import print_fields, print_json
from sendwarden.cli.state import JsonOption, settings, with_database
from sendwarden.storage.db import Database


def poll(as_json: JsonOption = False) -> None:
    """Fetch new inbound mail once and apply it (suppress bounces, unsubscribes, ...)."""
    # Imported on use: the poller pulls in the IMAP and parsing stack.
    from sendwarden.services.polling import poll_once

    config = settings()

    async def work(db: Database) -> dict[str, Any]:
        return dataclasses.asdict(await poll_once(config, db))

    counts = with_database(work)
    if as_json:
        print_json(counts)
    else:
        print_fields(counts.items(), title="Mailbox poll")


def register(app: typer.Typer) -> None:
    app.command()(poll)
