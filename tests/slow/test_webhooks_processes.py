"""Webhooks from real `sendwarden serve` processes: SIGKILL mid-dispatch loses nothing
(duplicates only with the same webhook-id), and four PostgreSQL workers dispatching
the same outbox deliver each event once."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sendwarden.devsmtp.server import CaptureServer
from sendwarden.storage.db import Database
from sendwarden.storage.models import WebhookDelivery, WebhookEvent
from sendwarden.webhooks import endpoints, outbox, signing
from tests.support.live_server import SECRET_KEY, LiveServer, live_env, seed_leads, send_payload
from tests.support.webhook_receiver import Received, WebhookReceiver

SEND = "/api/v1/backlink-outreach/outreach/send"
FAST_RETRIES = {
    "SENDWARDEN_WEBHOOKS_ALLOW_PRIVATE": "true",
    "SENDWARDEN_WEBHOOKS_TIMEOUT": "1",  # lease 7 s: a killed dispatcher's claims come back soon
    "SENDWARDEN_WEBHOOKS_RETRY_BASE": "0.2",
}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


async def add_endpoint(database_url: str, user_id: int, url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await endpoints.create(
                session,
                user_id=user_id,
                url=url,
                events=None,
                allow_private=True,
                box=signing.SecretBox(SECRET_KEY.encode()),
            )
    finally:
        await db.dispose()


async def outbox_rows(database_url: str) -> tuple[dict[str, str], list[WebhookDelivery]]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            events = {f"msg_{e.uid}": e.body for e in await session.scalars(select(WebhookEvent))}
            rows = list((await session.scalars(select(WebhookDelivery))).all())
        return events, rows
    finally:
        await db.dispose()


async def wait_delivered(receiver: WebhookReceiver, ids: set[str], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if {r.id for r in receiver.delivered()} >= ids:
            return
        await asyncio.sleep(0.1)
    missing = ids - {r.id for r in receiver.delivered()}
    raise AssertionError(f"{len(missing)} events never delivered")


async def arrivals(receiver: WebhookReceiver, count: int) -> None:
    for _ in range(3000):
        if len(receiver.requests) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(receiver.requests)} of {count} requests arrived")


def assert_duplicates_are_identical(got: list[Received]) -> None:
    bodies: dict[str, bytes] = {}
    for request in got:
        assert bodies.setdefault(request.id, request.body) == request.body


async def test_sigkill_mid_dispatch_loses_no_event(
    db_url: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    emails = [f"editor{i}@hook{i}.example" for i in range(40)]
    seeded = await seed_leads(db_url, emails)
    await add_endpoint(db_url, seeded.user_id, receiver.url)
    receiver.delay = 0.1  # slow receiver: kills land while deliveries are in flight
    smtp = CaptureServer(tmp_path / "smtp")
    smtp.start()
    server = LiveServer(live_env(db_url, smtp, **FAST_RETRIES), workdir=tmp_path / "server")
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(SEND, json=send_payload(seeded, e), headers=seeded.headers)
                    for e in emails
                )
            )
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses][:3]
        for _ in range(3):  # kill -9 whenever some, but not all, deliveries went out
            await arrivals(receiver, len(receiver.requests) + 5)
            server.kill()
            server.start()
        events, _ = await outbox_rows(db_url)
        assert len(events) == 2 * len(emails)  # attempt.sent + lead.status_changed per send
        await wait_delivered(receiver, set(events), within=90)
    finally:
        server.stop()
        smtp.stop()
    got = receiver.delivered()
    assert_duplicates_are_identical(got)
    for request in got:
        assert request.body.decode() == events[request.id]
    _, rows = await outbox_rows(db_url)
    assert {r.status for r in rows} == {"delivered"}


@pytest.mark.postgres
async def test_four_processes_on_postgres_deliver_each_event_once(
    pg_url: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    seeded = await seed_leads(pg_url, ["someone@pg.example"])
    await add_endpoint(pg_url, seeded.user_id, receiver.url)
    smtp = CaptureServer(tmp_path / "smtp")
    smtp.start()
    servers = [
        LiveServer(live_env(pg_url, smtp, **FAST_RETRIES), workdir=tmp_path / f"server{n}")
        for n in range(4)
    ]
    for server in servers:
        server.start()
    db = Database(pg_url)
    try:
        for batch in range(20):  # 400 events over 20 leads, while all four dispatch
            async with db.transaction() as session:
                await outbox.emit_many(
                    session,
                    [
                        outbox.NewEvent(
                            seeded.user_id,
                            "lead.status_changed",
                            {"lead_id": n, "seq": batch * 20 + n},
                            lead_id=n % 20,
                        )
                        for n in range(20)
                    ],
                )
        events, _ = await outbox_rows(pg_url)
        await wait_delivered(receiver, set(events), within=60)
        await asyncio.sleep(1.5)  # a duplicate would arrive by now
    finally:
        await db.dispose()
        for server in servers:
            server.stop()
        smtp.stop()
    got = receiver.delivered()
    assert len(got) == 400 and len({r.id for r in got}) == 400
    per_lead: dict[int, list[int]] = defaultdict(list)
    for request in got:
        data = request.json["data"]
        per_lead[data["lead_id"] % 20].append(data["seq"])
    assert all(seqs == sorted(seqs) for seqs in per_lead.values())
