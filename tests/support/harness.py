"""An API harness on any database URL (the conftest fixtures are tied to `db_url`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from sendwarden.api.app import create_app
from tests.conftest import ApiHarness, create_tenant, make_settings


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    )


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
