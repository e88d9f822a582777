"""`sendwarden init` and `sendwarden migrate`: schema creation through Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from sendwarden.cli.errors import safe_url
from sendwarden.cli.state import settings
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
