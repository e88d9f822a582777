"""A limit on failed authentication (issue 10 item 7): 429 + Retry-After per client,
never a lock-out of a valid key, whichever client uses it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sendwarden.storage import users
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness, AppFactory
from tests.support.live_server import LiveServer, SlowCaptureServer, live_env, seed_leads

LIMIT = 5
ATTACKER = "203.0.113.7"
OTHER = "198.51.100.9"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The limit lives in the HTTP edge, not the database: SQLite only."""
    return sqlite_url


@pytest.fixture
async def limited(api_factory: AppFactory) -> ApiHarness:
    return await api_factory(sendwarden_auth_failure_limit=LIMIT, sendwarden_auth_failure_window=60)


@pytest.fixture
async def clients(limited: ApiHarness) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """One client per source address, on the same app."""
    transport = limited.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    made = {
        ip: httpx.AsyncClient(
            transport=httpx.ASGITransport(
                app=transport.app, raise_app_exceptions=False, client=(ip, 40000)
            ),
            base_url="http://testserver",
        )
        for ip in (ATTACKER, OTHER)
    }
    yield made
    for client in made.values():
        await client.aclose()


def bad_key(i: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {users.KEY_PREFIX}{i:012d}_{'x' * 43}"}


async def test_bad_keys_from_one_client_get_429_with_retry_after_after_the_limit(
    limited: ApiHarness, clients: dict[str, httpx.AsyncClient]
) -> None:
    attacker = clients[ATTACKER]
    statuses = [
        (await attacker.get(f"{API}/campaigns", headers=bad_key(i))).status_code
        for i in range(LIMIT)
    ]
    assert statuses == [401] * LIMIT
    refused = await attacker.get(f"{API}/campaigns", headers=bad_key(99))
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "failed authentication" in refused.json()["detail"]
    # Unauthenticated and malformed attempts from that client are refused too.
    assert (await attacker.get(f"{API}/campaigns")).status_code == 429
    assert (
        await attacker.get(f"{API}/campaigns", headers=[(b"Authorization", "Bearer é".encode())])
    ).status_code == 429


async def test_a_valid_key_is_served_from_the_limited_client_and_from_another(
    limited: ApiHarness, clients: dict[str, httpx.AsyncClient]
) -> None:
    attacker, other = clients[ATTACKER], clients[OTHER]
    for i in range(LIMIT + 3):
        await attacker.get(f"{API}/campaigns", headers=bad_key(i))
    assert (await attacker.get(f"{API}/campaigns", headers=bad_key(1))).status_code == 429
    assert (
        await attacker.get(f"{API}/campaigns", headers=limited.alice.headers)
    ).status_code == 200
    assert (await other.get(f"{API}/campaigns", headers=limited.bob.headers)).status_code == 200
    # The other client's own failures are counted apart: it is not limited.
    assert (await other.get(f"{API}/campaigns", headers=bad_key(1))).status_code == 401


async def test_public_routes_are_not_limited(
    limited: ApiHarness, clients: dict[str, httpx.AsyncClient]
) -> None:
    attacker = clients[ATTACKER]
    for i in range(LIMIT + 1):
        await attacker.get(f"{API}/campaigns", headers=bad_key(i))
    assert (await attacker.get(f"{API}/campaigns", headers=bad_key(0))).status_code == 429
    assert (await attacker.get("/healthz")).status_code == 200
    assert (await attacker.get("/metrics")).status_code == 200
    unsubscribe = await attacker.get("/u/not-a-token")
    assert unsubscribe.status_code not in (401, 429) and unsubscribe.status_code < 500
    metrics = (await attacker.get("/metrics")).text
    assert "sendwarden_auth_failures_limited_total" in metrics


async def test_concurrent_bad_keys_still_share_batched_key_checks(
    limited: ApiHarness, clients: dict[str, httpx.AsyncClient]
) -> None:
    state = limited.state
    before = state.keys._batches.batches
    responses = await asyncio.gather(
        *(clients[ATTACKER].get(f"{API}/campaigns", headers=bad_key(i)) for i in range(40))
    )
    assert Counter(r.status_code for r in responses) == {401: LIMIT, 429: 40 - LIMIT}
    assert state.keys._batches.batches - before < 40


async def test_limit_zero_turns_it_off(api_factory: AppFactory) -> None:
    app = await api_factory(sendwarden_auth_failure_limit=0)
    statuses = {
        (await app.client.get(f"{API}/campaigns", headers=bad_key(i))).status_code
        for i in range(50)
    }
    assert statuses == {401}


# --- the reported case, against a real server: 300 bad keys in a few seconds ------------


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SlowCaptureServer]:
    server = SlowCaptureServer(tmp_path / "smtp", delay=0)
    server.start()
    yield server
    server.stop()


async def test_live_server_limits_300_bad_keys_but_serves_valid_keys_from_any_address(
    sqlite_url: str, sink: SlowCaptureServer, tmp_path: Path
) -> None:
    seeded = await seed_leads(sqlite_url, ["editor@blog.example"])
    env = live_env(sqlite_url, sink, SENDWARDEN_AUTH_FAILURE_LIMIT=20)
    with LiveServer(env, workdir=tmp_path) as server:
        # Two real source addresses on loopback: 127.0.0.2 plays the attacker.
        def client(source: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=server.base_url,
                transport=httpx.AsyncHTTPTransport(local_address=source),
                timeout=30,
            )

        async with client("127.0.0.2") as attacker, client("127.0.0.1") as user:
            statuses = Counter(
                r.status_code
                for r in await asyncio.gather(
                    *(attacker.get(f"{API}/campaigns", headers=bad_key(i)) for i in range(300))
                )
            )
            assert statuses == {401: 20, 429: 280}, statuses
            retry = await attacker.get(f"{API}/campaigns", headers=bad_key(1))
            assert retry.status_code == 429 and int(retry.headers["retry-after"]) >= 1
            for source in (attacker, user):
                ok = await source.get(f"{API}/campaigns", headers=seeded.headers)
                assert ok.status_code == 200, ok.text
            assert (await user.get(f"{API}/campaigns", headers=bad_key(1))).status_code == 401
