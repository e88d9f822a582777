"""Fixtures only: the helpers behind them live in tests/support/ (import them from there)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database
from tests.support import databases
from tests.support.harness import TEST_SECRET_KEY, ApiHarness, AppFactory, harness_factory
from tests.support.smtp_server import FaultyServer, running_smtp_server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return databases.fresh_sqlite(tmp_path)
    url = databases.postgres_url()
    asyncio.run(databases.empty_postgres(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return databases.fresh_sqlite(tmp_path)


@pytest.fixture
def pg_url() -> str:
    url = databases.postgres_url()
    asyncio.run(databases.empty_postgres(url))
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    # The key create_app derives from make_settings' secret, so both see one chain.
    database = Database(db_url, audit_key=AuditKey(db_url, secret=TEST_SECRET_KEY.encode()))
    yield database
    await database.dispose()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[FaultyServer]:
    """A real SMTP server with STARTTLS, AUTH and switchable faults."""
    with running_smtp_server(tmp_path / "smtp") as server:
        yield server


@pytest.fixture
async def api_factory(db_url: str) -> AsyncIterator[AppFactory]:
    """Build an app on the test database with settings overrides; tears everything down."""
    async with harness_factory(db_url) as build:
        yield build


@pytest.fixture
async def api(api_factory: AppFactory) -> ApiHarness:
    return await api_factory()
