"""Shared by the benchmarks: the database to run against."""

from __future__ import annotations

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
