"""Test databases: a migrated SQLite file per test, and a shared PostgreSQL emptied per test.

PostgreSQL tests use SENDWARDEN_TEST_POSTGRES_URL (default: the local server,
database `test`). They skip with a reason where no server answers, unless
SENDWARDEN_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sendwarden.storage.migrate import upgrade
from sendwarden.storage.models import Base

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("SENDWARDEN_TEST_POSTGRES_URL", DEFAULT_PG_URL)
REQUIRE_PG = os.environ.get("SENDWARDEN_REQUIRE_POSTGRES") == "1"

_sqlite_template: Path | None = None
_pg_state: dict[str, object] = {}


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def fresh_sqlite(tmp_dir: Path) -> str:
    """Copy a once-migrated template: migrating per test would dominate the run time."""
    global _sqlite_template
    if _sqlite_template is None:
        template_dir = (
            Path(os.environ.get("PYTEST_TMP_TEMPLATE", "/tmp")) / f"sw-template-{os.getpid()}"
        )
        template_dir.mkdir(parents=True, exist_ok=True)
        template = template_dir / "template.db"
        template.unlink(missing_ok=True)
        upgrade(sqlite_url(template))
        _sqlite_template = template
    target = tmp_dir / "sendwarden.db"
    shutil.copyfile(_sqlite_template, target)
    return sqlite_url(target)


def _pg_reachable() -> str | None:
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure: report why
        return f"{type(exc).__name__}: {exc}"
    return None


def postgres_url() -> str:
    """Migrate the test database once per run; fail or skip where unreachable."""
    if "ready" not in _pg_state:
        problem = _pg_reachable()
        if problem is not None:
            _pg_state["ready"] = False
            _pg_state["problem"] = problem
        else:
            _reset_schema()
            upgrade(PG_URL)
            _pg_state["ready"] = True
    if not _pg_state["ready"]:
        message = f"PostgreSQL not reachable at {PG_URL} ({_pg_state['problem']})"
        if REQUIRE_PG:
            pytest.fail(message + "; SENDWARDEN_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(message)
    return PG_URL


def _reset_schema() -> None:
    async def reset() -> None:
        engine = create_async_engine(PG_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


async def empty_postgres(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await conn.execute(
            text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :h)"),
            {"h": "0" * 64},
        )
    await engine.dispose()
