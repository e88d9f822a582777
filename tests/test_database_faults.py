"""Database faults: unreachable, locked or lost mid-request, on SQLite and PostgreSQL.

Every such request fails closed: a clean 5xx (no traceback, no SQL), nothing
half-written, and never an SMTP delivery without a committed reservation. A
failure after SMTP leaves the attempt `sending` with its key reserved, so nothing
resends it (product.md §4).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from sendwarden.api.app import create_app
from sendwarden.services.crash_recovery import recover_interrupted_sends
from sendwarden.storage import audit_chain
from sendwarden.storage import db as db_module
from sendwarden.storage.db import is_sqlite
from sendwarden.storage.migrate import upgrade
from sendwarden.storage.models import Attempt, DuplicateKey
from tests.support import databases
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.db_faults import (
    StatementFault,
    create_postgres_database,
    drop_postgres_database,
    postgres_cut_off,
    postgres_restore,
    sqlite_exclusive_lock,
)
from tests.support.db_state import DbSnapshot, snapshot
from tests.support.harness import ApiHarness, AppFactory, asgi_client, make_settings, smtp_settings
from tests.support.route_inventory import protected_routes
from tests.support.smtp_server import Faults, FaultyServer

# What a 5xx body must never show.
LEAKS = ("Traceback", 'File "', "sqlalchemy", "sqlite3", "asyncpg", "SELECT", "INSERT", "UPDATE ")
SHORT_BUSY_TIMEOUT_MS = 300


@pytest.fixture(scope="module")
def faults_pg_url() -> Iterator[str]:
    """A database of our own: these tests cut off and kill its connections."""
    databases.postgres_url()  # skips (or fails) here when no server answers
    url = databases.derived_postgres_url("faults")
    asyncio.run(create_postgres_database(url))
    upgrade(url)
    yield url
    asyncio.run(drop_postgres_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return databases.fresh_sqlite(tmp_path)
    url: str = request.getfixturevalue("faults_pg_url")
    asyncio.run(databases.empty_postgres(url))
    return url


@pytest.fixture(autouse=True)
def short_sqlite_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked SQLite database answers within 0.3 s instead of waiting 30 s."""
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)


@pytest.fixture
async def app(api_factory: AppFactory, smtp: FaultyServer) -> ApiHarness:
    return await api_factory(**smtp_settings(smtp, smtp_send_timeout=5.0))


def assert_clean_5xx(r: httpx.Response, what: str) -> None:
    assert 500 <= r.status_code < 600, f"{what}: {r.status_code} {r.text}"
    leaked = [word for word in LEAKS if word in r.text]
    assert not leaked, f"{what} leaks {leaked}: {r.text}"
    assert r.json()["detail"], what


@asynccontextmanager
async def database_unavailable(url: str) -> AsyncIterator[None]:
    """SQLite: another connection holds the write lock. PostgreSQL: connections cut off."""
    if is_sqlite(url):
        with sqlite_exclusive_lock(url):
            yield
        return
    await postgres_cut_off(url)
    try:
        yield
    finally:
        await postgres_restore(url)


async def chain_ok(app: ApiHarness) -> bool:
    async with app.db.transaction() as session:
        return (await audit_chain.verify_chain(session)).ok


DEAD_URLS = {
    "sqlite": "sqlite+aiosqlite:////nonexistent-sendwarden-dir/sendwarden.db",
    "postgres": "postgresql+asyncpg://postgres@127.0.0.1:1/sendwarden",
}


@pytest.mark.parametrize("kind", list(DEAD_URLS))
async def test_unreachable_database_is_503_on_every_route(kind: str) -> None:
    app = create_app(make_settings(DEAD_URLS[kind]))
    key = {"Authorization": "Bearer sw_0123456789ab_" + "k" * 43}
    async with asgi_client(app) as client:
        routes = protected_routes(app)
        for route in routes:
            values = {p: "a@b.example" if p == "email" else 1 for p in route.params}
            r = await client.request(route.method, route.url(**values), json={}, headers=key)
            assert r.status_code == 503, f"{route}: {r.status_code} {r.text}"
            assert_clean_5xx(r, str(route))
            assert "database is unavailable" in r.json()["detail"]
        health = await client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
    await app.state.sendwarden.close()
    print(f"\nunreachable {kind}: {len(routes)} routes answered 503")


async def test_database_unavailable_after_start_fails_closed_then_recovers(
    app: ApiHarness, db_url: str
) -> None:
    campaign = await make_campaign(app.client, app.alice.headers)
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/campaigns", {"name": "during outage"}),
        ("POST", f"/campaigns/{campaign}/leads", {"website_url": "https://x.example"}),
        ("POST", "/suppression", {"email": "x@y.example"}),
        ("POST", "/policy/validate", {"recipient_email": "x@y.example"}),
        ("GET", "/campaigns", {}),
    ]
    before = await snapshot(app.db)
    async with database_unavailable(db_url):
        for method, path, body in writes:
            r = await app.client.request(
                method, f"{API}{path}", json=body or None, headers=app.alice.headers
            )
            if method == "GET" and is_sqlite(db_url):
                # A held SQLite write lock stops writers only: WAL readers go on.
                assert r.status_code == 200, f"{method} {path}: {r.text}"
                continue
            assert_clean_5xx(r, f"{method} {path}")
            assert r.status_code == 503 and r.headers.get("retry-after")
    assert not before.differences(await snapshot(app.db))
    assert await chain_ok(app)
    for method, path, body in writes:  # and the same app recovers by itself
        r = await app.client.request(
            method, f"{API}{path}", json=body or None, headers=app.alice.headers
        )
        assert r.status_code < 300, f"after recovery {method} {path}: {r.text}"
    print(f"\n{app.db.dialect}: {len(writes)} requests during the outage, all 503, 0 rows written")


async def wait_for_status(app: ApiHarness, lead: int, status: str) -> Attempt:
    for _ in range(200):
        try:
            async with app.db.transaction() as session:
                attempt = await session.scalar(
                    select(Attempt).where(Attempt.lead_id == lead, Attempt.status == status)
                )
        except OperationalError:  # the send in progress holds SQLite's write lock
            attempt = None
        if attempt is not None:
            return attempt
        await asyncio.sleep(0.01)
    raise AssertionError(f"no attempt for lead {lead} reached {status!r}")


async def key_state(app: ApiHarness, attempt_id: int) -> str | None:
    async with app.db.transaction() as session:
        return await session.scalar(
            select(DuplicateKey.state).where(DuplicateKey.attempt_id == attempt_id)
        )


async def test_database_lost_after_smtp_keeps_the_reservation(
    app: ApiHarness, smtp: FaultyServer, db_url: str
) -> None:
    campaign = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, campaign, "once@example.net")
    smtp.faults = Faults(stall_seconds=1.0)  # the database goes away while SMTP runs
    task = asyncio.create_task(send(app.client, app.alice.headers, campaign, lead))
    attempt = await wait_for_status(app, lead, "sending")
    async with database_unavailable(db_url):
        r = await task
    assert_clean_5xx(r, "send")
    assert "accepted by the SMTP server" in r.json()["detail"], "the message did go out"
    assert len(smtp.wait_for(1)) == 1
    smtp.faults = Faults()
    assert (await wait_for_status(app, lead, "sending")).id == attempt.id
    assert await key_state(app, attempt.id) == "in_flight"
    retry = await send(app.client, app.alice.headers, campaign, lead)
    assert retry.status_code == 409, retry.text
    assert await recover_interrupted_sends(app.settings, app.db) == [attempt.id]
    assert (await wait_for_status(app, lead, "unknown")).id == attempt.id
    assert await key_state(app, attempt.id) == "in_flight"
    assert len(smtp.messages) == 1 and await chain_ok(app)


async def test_database_lost_after_an_smtp_failure_keeps_the_reservation(
    app: ApiHarness, smtp: FaultyServer, db_url: str
) -> None:
    campaign = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, campaign, "gone@example.net")
    # Stalled, then refused at the end of DATA: a definite failure that should release the key.
    smtp.faults = Faults(stall_seconds=1.0, data_reply="554 5.7.1 Rejected")
    task = asyncio.create_task(send(app.client, app.alice.headers, campaign, lead))
    attempt = await wait_for_status(app, lead, "sending")
    async with database_unavailable(db_url):
        r = await task
    assert_clean_5xx(r, "send")
    assert "could not be recorded" in r.json()["detail"]
    smtp.faults = Faults()
    assert await key_state(app, attempt.id) == "in_flight"
    assert (await send(app.client, app.alice.headers, campaign, lead)).status_code == 409
    assert smtp.messages == [] and await chain_ok(app)


async def check_after_fault(
    app: ApiHarness, smtp: FaultyServer, before: DbSnapshot, delivered_before: int, lead: int
) -> str:
    """Classify one faulted send and check its invariants; returns where it failed."""
    delivered = len(smtp.messages) - delivered_before
    if delivered == 0:
        changed = before.differences(await snapshot(app.db))
        assert not changed, f"half-written: {changed}"
        return "before SMTP"
    assert delivered == 1
    attempt = await wait_for_status(app, lead, "sending")
    assert await key_state(app, attempt.id) == "in_flight", "delivered without a reservation"
    return "after SMTP"


async def test_fault_at_every_statement_of_a_send_fails_closed(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    campaign = await make_campaign(app.client, app.alice.headers)
    phases: dict[str, int] = {}
    fail_at = 0
    while True:
        fail_at += 1
        assert fail_at < 200, "a send should take far fewer statements"
        lead = await make_lead(app.client, app.alice.headers, campaign, f"r{fail_at}@example.net")
        before, delivered_before = await snapshot(app.db), len(smtp.messages)
        with StatementFault(app.db, fail_at).installed() as fault:
            r = await send(app.client, app.alice.headers, campaign, lead)
        if not fault.fired:
            assert r.status_code == 200, r.text  # past the last statement: a normal send
            break
        assert_clean_5xx(r, f"send with statement {fail_at} failing")
        phase = await check_after_fault(app, smtp, before, delivered_before, lead)
        phases[phase] = phases.get(phase, 0) + 1
        if phase == "after SMTP":
            retry = await send(app.client, app.alice.headers, campaign, lead)
            assert retry.status_code == 409, f"resend after fault {fail_at}: {retry.text}"
    assert await chain_ok(app)
    assert phases.get("before SMTP") and phases.get("after SMTP"), phases
    print(
        f"\n{app.db.dialect}: {fail_at - 1} faults injected, one per statement of a send"
        f" ({phases}); rows half-written 0, sends without a committed reservation 0"
    )
