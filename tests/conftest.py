from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sendwarden.api.app import create_app
from sendwarden.config import Settings
from sendwarden.storage import users
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database
from tests.support import databases
from tests.support.smtp_server import PASSWORD, USERNAME, FaultyServer, running_smtp_server

API = "/api/v1/backlink-outreach"
TEST_SECRET_KEY = "test-secret-key"  # noqa: S105 (a test value)


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


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "smtp_from_email": "outreach@sender.example",
        "smtp_allowed_from_emails": "*@sender.example,team@partner.example",
        "sendwarden_secret_key": TEST_SECRET_KEY,
        # Matrices send hundreds of bad keys from one client; tests/test_auth_limit.py
        # turns the failed-authentication limit on.
        "sendwarden_auth_failure_limit": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[FaultyServer]:
    """A real SMTP server with STARTTLS, AUTH and switchable faults."""
    with running_smtp_server(tmp_path / "smtp") as server:
        yield server


def smtp_settings(server: FaultyServer, **extra: Any) -> dict[str, Any]:
    """Settings that deliver through `server` with TLS verification on."""
    return {
        "smtp_host": "localhost",
        "smtp_port": server.port,
        "smtp_user": USERNAME,
        "smtp_pass": PASSWORD,
        "smtp_ca_file": server.ca_file,
        "smtp_send_timeout": 3.0,
        "smtp_from_name": "Outreach Team",
        **extra,
    }


@dataclass
class Tenant:
    user_id: int
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def create_tenant(database: Database, name: str, *, admin: bool = False) -> Tenant:
    async with database.transaction() as session:
        user = await users.create_user(session, name, is_admin=admin)
        issued = await users.issue_key(session, user, "test")
    return Tenant(user.id, issued.plaintext)


@dataclass
class ApiHarness:
    client: httpx.AsyncClient
    db: Database
    settings: Settings
    alice: Tenant
    bob: Tenant
    admin: Tenant
    state: Any = None


AppFactory = Callable[..., Coroutine[Any, Any, ApiHarness]]


@pytest.fixture
async def api_factory(db_url: str) -> AsyncIterator[AppFactory]:
    """Build an app on the test database with settings overrides; tears everything down."""
    opened: list[tuple[httpx.AsyncClient, Any]] = []

    async def build(**overrides: Any) -> ApiHarness:
        settings = make_settings(db_url, **overrides)
        app = create_app(settings)
        state = app.state.sendwarden
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        )
        opened.append((client, state))
        tenants = [
            await create_tenant(state.db, name, admin=name.startswith("admin"))
            for name in (
                f"alice{len(opened)}",
                f"bob{len(opened)}",
                "admin" if len(opened) == 1 else f"admin{len(opened)}",
            )
        ]
        return ApiHarness(client, state.db, settings, *tenants, state=state)

    yield build
    for client, state in opened:
        await client.aclose()
        await state.db.dispose()


@pytest.fixture
async def api(api_factory: AppFactory) -> ApiHarness:
    return await api_factory()
