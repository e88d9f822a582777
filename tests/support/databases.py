"""Test databases: a migrated SQLite file per test, and a PostgreSQL database emptied per test.

PostgreSQL tests connect through SENDWARDEN_TEST_POSTGRES_URL (default: the
local server, database `test`) and create their own database beside it for
this pytest process (`<name>_sw_<pid>`, dropped at exit; every other test database
is named `<name>_<purpose>_<pid>` too, see `derived_postgres_url`), so that two test
runs on one server never truncate each other's tables. They skip with a
reason where no server answers, unless SENDWARDEN_REQUIRE_POSTGRES=1 (set by
.ci/run): then they fail instead.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sendwarden.storage.migrate import upgrade
from sendwarden.storage.models import Base

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ADMIN_PG_URL = os.environ.get("SENDWARDEN_TEST_POSTGRES_URL", DEFAULT_PG_URL)
_admin = make_url(ADMIN_PG_URL)


def derived_postgres_url(purpose: str) -> str:
    """A database of this pytest process for `purpose`, named after the configured one
    (`<configured>_<purpose>_<pid>`), so that a shared server's naming is respected."""
    name = f"{_admin.database}_{purpose}_{os.getpid()}"
    return _admin.set(database=name).render_as_string(hide_password=False)


PG_URL = derived_postgres_url("sw")
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


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(ADMIN_PG_URL), timeout=3)
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
        message = f"PostgreSQL not reachable at {ADMIN_PG_URL} ({_pg_state['problem']})"
        if REQUIRE_PG:
            pytest.fail(message + "; SENDWARDEN_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(message)
    return PG_URL


def _reset_schema() -> None:
    name = make_url(PG_URL).database

    async def create() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(ADMIN_PG_URL), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    atexit.register(_drop_database, name)


def _drop_database(name: str | None) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(ADMIN_PG_URL), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with contextlib.suppress(Exception):  # best effort at interpreter exit
        asyncio.run(drop())


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
