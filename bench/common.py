"""Shared by the benchmarks: the database to run against, the validate benches' bodies."""

from __future__ import annotations

import argparse
from pathlib import Path

from sendwarden.storage.migrate import upgrade_async


async def database_url_for(url: str | None, workdir: Path) -> tuple[str, str]:
    """(url, description). SQLite: a fresh file; PostgreSQL: migrated, rows left as they are."""
    if url is None:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await upgrade_async(url)
        return url, "SQLite (file, WAL)"
    url = url.replace("postgres://", "postgresql://", 1)
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    await upgrade_async(url)
    return url, "PostgreSQL"


# --distinct-recipients of the validate benches: a new address per request, over this
# many domains (so the registrable-domain memo is exercised too, as real lists do).
DISTINCT_DOMAINS = 997


def add_distinct_recipients_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--distinct-recipients",
        action="store_true",
        help="each request to a new address (default: one body for every request)",
    )


def bodies_described(args: argparse.Namespace) -> str:
    return "a new recipient per request" if args.distinct_recipients else "one body"
