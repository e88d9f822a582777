"""The one API harness: settings for tests, tenants, and an app driven in-process.

`conftest.py` turns these into fixtures (`api`, `api_factory`); tests that need
an app on a database of their own open one with `open_harness`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from sendwarden.api.app import create_app
from sendwarden.config import Settings
from sendwarden.storage import users
from sendwarden.storage.db import Database
from tests.support.smtp_server import PASSWORD, USERNAME, FaultyServer

TEST_SECRET_KEY = "test-secret-key"  # noqa: S105 (a test value)


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


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    )


@asynccontextmanager
async def harness_factory(db_url: str) -> AsyncIterator[AppFactory]:
    """Build apps on `db_url` with settings overrides; tears every one down on exit.

    Each app gets its own tenants (alice<n>, bob<n>, admin<n>; the first admin is "admin").
    """
    opened: list[tuple[httpx.AsyncClient, Any]] = []

    async def build(**overrides: Any) -> ApiHarness:
        settings = make_settings(db_url, **overrides)
        app = create_app(settings)
        state = app.state.sendwarden
        client = asgi_client(app)
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

    try:
        yield build
    finally:
        for client, state in opened:
            await client.aclose()
            await state.db.dispose()


@asynccontextmanager
async def open_harness(db_url: str, **overrides: Any) -> AsyncIterator[ApiHarness]:
    """An app on `db_url` (already migrated) with tenants alice, bob and admin."""
    settings = make_settings(db_url, **overrides)
    app = create_app(settings)
    state = app.state.sendwarden
    client = asgi_client(app)
    try:
        alice = await create_tenant(state.db, "alice")
        bob = await create_tenant(state.db, "bob")
        admin = await create_tenant(state.db, "admin", admin=True)
        yield ApiHarness(client, state.db, settings, alice, bob, admin, state=state)
    finally:
        await client.aclose()
        await state.close()
