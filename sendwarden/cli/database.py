"""`sendwarden init` and `sendwarden migrate`: schema creation through Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from sendwarden.cli.errors import safe_url
from sendwarden.cli.state import in_transaction, settings
from sendwarden.storage import audit
from sendwarden.storage.db import is_sqlite
from sendwarden.storage.migrate import upgrade


def database_location(url: str) -> str:
    """A SQLite database's absolute file path, else the URL without its password."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            return str(Path(database).expanduser().resolve())
    return safe_url(url)


def _prepare_sqlite_directory(url: str) -> None:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _upgrade(revision: str) -> str:
    url = settings().database_url
    _prepare_sqlite_directory(url)
    upgrade(url, revision)
    if revision == "head":
        sealed = in_transaction(audit.seal_legacy_chain)
        if sealed:
            # Expected once, on the upgrade to keyed hashes: seen again, someone replaced
            # the chain with plainly hashed entries (check against your recorded heads).
            typer.echo(f"Sealed {sealed} audit entries written before keyed hashes.", err=True)
    return database_location(url)


def init() -> None:
    """Create the database, or bring its schema up to date. Safe to run again."""
    location = _upgrade("head")
    typer.echo(f"Database ready (schema up to date): {location}")


def migrate(
    revision: Annotated[
        str, typer.Option("--revision", help="Alembic revision to upgrade to.")
    ] = "head",
) -> None:
    """Apply schema migrations explicitly (the same as `init` for the default revision)."""
    location = _upgrade(revision)
    typer.echo(f"Database migrated to {revision}: {location}")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(migrate)
