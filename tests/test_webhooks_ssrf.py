"""SSRF guard: only public https targets, checked after DNS resolution at delivery time,
connected to the checked address (no second lookup), redirects not followed."""

from __future__ import annotations

import ipaddress
import itertools
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from sendwarden.storage.db import Database
from sendwarden.storage.models import WebhookDelivery, WebhookEndpoint
from sendwarden.webhooks import outbox, signing, ssrf
from sendwarden.webhooks.dispatcher import Dispatcher
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness, AppFactory, Tenant, create_tenant
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


REFUSED_AT_CREATE = [
    "http://127.0.0.1/hooks",
    "http://example.com/hooks",
    "https://127.0.0.1/hooks",
    "https://10.0.0.5/hooks",
    "https://192.168.1.1/hooks",
    "https://172.16.0.1/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:a00:1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://100.64.0.1/hooks",
    "https://240.0.0.1/hooks",
]


@pytest.fixture
async def app(api_factory: AppFactory) -> ApiHarness:
    return await api_factory()  # SENDWARDEN_WEBHOOKS_ALLOW_PRIVATE off


@pytest.mark.parametrize("url", REFUSED_AT_CREATE)
async def test_private_or_plain_http_target_is_refused_with_422(app: ApiHarness, url: str) -> None:
    r = await app.client.post(f"{API}/webhooks", json={"url": url}, headers=app.alice.headers)
    assert r.status_code == 422, r.text
    assert "url" in r.text


async def test_public_https_target_is_accepted(app: ApiHarness) -> None:
    r = await app.client.post(
        f"{API}/webhooks", json={"url": "https://8.8.8.8/hooks"}, headers=app.alice.headers
    )
    assert r.status_code == 201, r.text


async def _stored_endpoint(db: Database, user: Tenant, url: str) -> None:
    """An endpoint row as if created while the setting allowed it (bypassing the API check)."""
    async with db.transaction() as session:
        sealed = (await signing.secret_box(session, None)).seal(signing.new_secret())
        session.add(WebhookEndpoint(user_id=user.user_id, url=url, enabled=True, secret=sealed))
        await session.flush()
        outbox.endpoints_changed(session, user.user_id)


async def _emit(db: Database, user: Tenant) -> None:
    async with db.transaction() as session:
        await outbox.emit(session, "complaint", {"attempt_id": 1}, user_id=user.user_id)


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/hooks",  # http and loopback, without the setting
        "https://127.0.0.1:{port}/hooks",
        "https://localhost:{port}/hooks",  # a name that resolves to loopback
        "https://[::1]:{port}/hooks",
        "https://[::ffff:127.0.0.1]:{port}/hooks",
    ],
)
async def test_delivery_to_loopback_is_refused_after_resolution(
    db: Database, receiver: WebhookReceiver, template: str
) -> None:
    user = await create_tenant(db, "alice")
    await _stored_endpoint(db, user, template.format(port=receiver.port))
    await _emit(db, user)
    dispatcher = Dispatcher(db, allow_private=False, retry_base=3600)
    assert await dispatcher.run_once() == 1
    await dispatcher.close()
    async with db.read() as session:
        [row] = (await session.scalars(select(WebhookDelivery))).all()
    assert row.status == "pending" and row.last_error is not None
    assert row.last_error.startswith("refused:"), row.last_error
    assert receiver.requests == []  # nothing reached the receiver


async def test_connection_goes_to_the_checked_address_not_a_second_lookup(
    db: Database, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once, checked, and that address is used."""
    calls: list[str] = []

    async def fake_getaddrinfo(self: Any, host: str, port: int, **kwargs: Any) -> list[Any]:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr("asyncio.base_events.BaseEventLoop.getaddrinfo", fake_getaddrinfo)
    user = await create_tenant(db, "alice")
    await _stored_endpoint(db, user, f"http://rebind.example:{receiver.port}/hooks")
    await _emit(db, user)
    dispatcher = Dispatcher(db, allow_private=True)
    await dispatcher.run_once()
    await dispatcher.close()
    [got] = receiver.delivered()
    assert got.headers["host"] == f"rebind.example:{receiver.port}"
    assert calls == ["rebind.example"]  # httpx connected to the IP: no lookup of its own


async def test_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_getaddrinfo(self: Any, host: str, port: int, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr("asyncio.base_events.BaseEventLoop.getaddrinfo", fake_getaddrinfo)
    with pytest.raises(ssrf.UnsafeTarget, match="10.0.0.7"):
        await ssrf.resolve("https://mixed.example/hooks", allow_private=False)


@given(st.ip_addresses())
def test_is_public_agrees_with_the_stdlib_on_every_address(ip: Any) -> None:
    mapped = getattr(ip, "ipv4_mapped", None)
    effective = mapped if mapped is not None else ip
    expected = effective.is_global and not effective.is_multicast and not effective.is_reserved
    assert ssrf.is_public(ip) is expected
    if not expected:
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        with pytest.raises(ssrf.UnsafeTarget):
            ssrf.check_url(f"https://{host}/x", allow_private=False)


@pytest.mark.parametrize(
    "network", ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "::1/128", "fc00::/7"]
)
def test_private_networks_are_never_public(network: str) -> None:
    for ip in itertools.islice(ipaddress.ip_network(network).hosts(), 50):
        assert not ssrf.is_public(ip)
