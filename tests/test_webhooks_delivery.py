"""Outbox delivery mechanics against a real receiver on 127.0.0.1: retries, order per
lead, rollback, leases, secret rotation, dead letters, concurrent dispatchers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from sendwarden.storage.db import Database
from sendwarden.storage.models import WebhookDelivery, WebhookEvent
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import dispatcher as dispatcher_module
from sendwarden.webhooks import endpoints, outbox, signing, store
from sendwarden.webhooks.dispatcher import Dispatcher
from tests.support.harness import Tenant, create_tenant
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_webhooks_events import drain


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
async def alice(db: Database) -> Tenant:
    return await create_tenant(db, "alice")


async def endpoint(db: Database, user: Tenant, url: str) -> tuple[int, str]:
    async with db.transaction() as session:
        row, secret = await endpoints.create(
            session,
            user_id=user.user_id,
            url=url,
            events=None,
            allow_private=True,
            box=await signing.secret_box(session, None),  # as the dispatchers below
        )
        return row.id, secret


async def emit(db: Database, user: Tenant, lead_id: int | None, n: int) -> None:
    async with db.transaction() as session:
        await outbox.emit(
            session,
            "lead.status_changed",
            {"lead_id": lead_id, "campaign_id": 1, "status": "placed", "previous_status": f"{n}"},
            user_id=user.user_id,
            lead_id=lead_id,
        )


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.read() as session:
        return list((await session.scalars(select(WebhookDelivery))).all())


async def test_receiver_500_then_200_is_retried_and_delivered_once(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    _, secret = await endpoint(db, alice, receiver.url)
    await emit(db, alice, 1, 0)
    receiver.statuses = [500]
    dispatcher = Dispatcher(db, allow_private=True, retry_base=0.5)
    try:
        await dispatcher.run_once()
        [row] = await deliveries(db)
        assert (row.status, row.attempts, row.last_response_code) == ("pending", 1, 500)
        assert row.next_attempt_at > utcnow()
        assert await dispatcher.run_once() == 0  # not due yet
        await asyncio.sleep(0.7)
        await drain(dispatcher, receiver)
    finally:
        await dispatcher.close()
    assert [r.status for r in receiver.requests] == [500, 200]
    assert receiver.requests[0].id == receiver.requests[1].id  # the same webhook-id
    [ok] = receiver.delivered()
    ok.verify(secret)
    [row] = await deliveries(db)
    assert (row.status, row.attempts, row.last_response_code) == ("delivered", 2, 200)


async def test_receiver_down_for_a_while_backlog_drains_in_order(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    await endpoint(db, alice, receiver.url)
    receiver.stop()
    for n in range(6):
        await emit(db, alice, 7, n)  # one lead: order matters
    for n in range(3):
        await emit(db, alice, 100 + n, n)  # other leads: independent
    dispatcher = Dispatcher(db, allow_private=True, retry_base=0.05, timeout=1)
    try:
        for _ in range(3):
            await dispatcher.run_once()
            await asyncio.sleep(0.06)
        rows = await deliveries(db)
        # Only the head of lead 7 was tried: the later ones wait behind it.
        tried = {r.lead_id for r in rows if r.attempts > 0}
        assert tried == {7, 100, 101, 102}
        assert sum(1 for r in rows if r.lead_id == 7 and r.attempts > 0) == 1
        receiver.start()
        while any(r.status == "pending" for r in await deliveries(db)):
            await dispatcher.run_once()
            await asyncio.sleep(0.02)
    finally:
        await dispatcher.close()
    lead7 = [
        r.json["data"]["previous_status"]
        for r in receiver.delivered()
        if r.json["data"]["lead_id"] == 7
    ]
    assert lead7 == [str(n) for n in range(6)]
    assert len(receiver.delivered()) == 9


async def test_rolled_back_change_emits_no_event(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    await endpoint(db, alice, receiver.url)
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await outbox.emit(session, "complaint", {"x": 1}, user_id=alice.user_id)
            raise RuntimeError("the change failed")
    async with db.read() as session:
        assert (await session.scalars(select(WebhookEvent))).all() == []
    dispatcher = Dispatcher(db, allow_private=True)
    assert await dispatcher.run_once() == 0
    await dispatcher.close()
    assert receiver.requests == []


async def test_expired_lease_is_taken_over_with_the_same_webhook_id(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    """A dispatcher that dies after claiming: another delivers once its lease expires."""
    await endpoint(db, alice, receiver.url)
    await emit(db, alice, 3, 0)
    dead = Dispatcher(db, allow_private=True, owner="dead")
    async with db.transaction() as session:
        await store.fan_out(session, limit=10, now=utcnow())
        [claimed] = await store.claim(
            session, owner="dead", limit=10, now=utcnow(), lease=dead.lease
        )
    other = Dispatcher(db, allow_private=True)
    assert await other.run_once() == 0  # leased: not taken
    async with db.transaction() as session:
        await session.execute(
            update(WebhookDelivery).values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert await other.run_once() == 1
    await other.close()
    [got] = receiver.delivered()
    assert got.id == f"msg_{claimed.uid}"
    # The dead dispatcher's late outcome is ignored: it no longer holds the lease.
    async with db.transaction() as session:
        outcome = store.Outcome(claimed.id, store.PENDING, 500, "late", utcnow())
        await store.record(session, [outcome], owner="dead", now=utcnow())
    [row] = await deliveries(db)
    assert row.status == "delivered"


async def test_rotated_secret_signs_with_both_secrets(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    endpoint_id, old = await endpoint(db, alice, receiver.url)
    async with db.transaction() as session:
        _, new = await endpoints.rotate_secret(
            session,
            user_id=alice.user_id,
            endpoint_id=endpoint_id,
            box=await signing.secret_box(session, None),
        )
    assert new != old and new.startswith("whsec_")
    await emit(db, alice, 1, 0)
    dispatcher = Dispatcher(db, allow_private=True)
    await drain(dispatcher, receiver)
    await dispatcher.close()
    [got] = receiver.delivered()
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    got.verify(old)
    got.verify(new)


async def test_delivery_is_dead_after_three_days(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    await endpoint(db, alice, receiver.url)
    await emit(db, alice, 1, 0)
    async with db.transaction() as session:
        await session.execute(
            update(WebhookEvent).values(created_at=utcnow() - timedelta(days=3, minutes=-1))
        )
    receiver.statuses = [503]
    dispatcher = Dispatcher(db, allow_private=True, retry_base=300)
    await dispatcher.run_once()
    await dispatcher.close()
    [row] = await deliveries(db)
    assert (row.status, row.last_response_code) == ("dead", 503)


def test_backoff_grows_exponentially_with_jitter_and_is_capped(db: Database) -> None:
    dispatcher = Dispatcher(db, retry_base=5)
    for attempt, base in [(1, 5), (2, 10), (3, 20), (8, 640)]:
        delays = {dispatcher.retry_delay(attempt).total_seconds() for _ in range(20)}
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(delays) > 1  # jittered
    assert dispatcher.retry_delay(40).total_seconds() <= 6 * 3600 * 1.2


async def test_redirect_is_not_followed(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    await endpoint(db, alice, receiver.url)
    await emit(db, alice, 1, 0)
    receiver.statuses = [307]
    dispatcher = Dispatcher(db, allow_private=True, retry_base=60)
    await dispatcher.run_once()
    await dispatcher.close()
    [row] = await deliveries(db)
    assert (row.status, row.last_response_code) == ("pending", 307)
    assert len(receiver.requests) == 1


@pytest.mark.postgres
async def test_concurrent_dispatchers_on_postgres_deliver_each_event_once(
    pg_url: str, receiver: WebhookReceiver
) -> None:
    databases = [Database(pg_url) for _ in range(4)]
    try:
        user = await create_tenant(databases[0], "alice")
        await endpoint(databases[0], user, receiver.url)
        for n in range(200):
            await emit(databases[0], user, n % 20, n)
        dispatchers = [Dispatcher(d, allow_private=True, batch=10) for d in databases]

        async def run(dispatcher: Dispatcher) -> None:
            idle = 0
            while idle < 3:
                idle = 0 if await dispatcher.run_once() else idle + 1
                await asyncio.sleep(0.01)

        await asyncio.gather(*(run(d) for d in dispatchers))
        for d in dispatchers:
            await d.close()
        got = receiver.delivered()
        assert len(got) == 200 and len({r.id for r in got}) == 200
        for lead in range(20):
            seen = [
                int(r.json["data"]["previous_status"])
                for r in got
                if r.json["data"]["lead_id"] == lead
            ]
            assert seen == sorted(seen)
    finally:
        for d in databases:
            await d.dispose()


async def test_disabled_endpoint_pauses_its_pending_deliveries(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    endpoint_id, _ = await endpoint(db, alice, receiver.url)
    await emit(db, alice, 1, 0)
    async with db.transaction() as session:
        await store.fan_out(session, limit=10, now=utcnow())
        await endpoints.update_endpoint(
            session,
            user_id=alice.user_id,
            endpoint_id=endpoint_id,
            enabled=False,
            allow_private=True,
        )
    dispatcher = Dispatcher(db, allow_private=True)
    assert await dispatcher.run_once() == 0
    [row] = await deliveries(db)
    assert row.status == "pending" and receiver.requests == []
    async with db.transaction() as session:
        await endpoints.update_endpoint(
            session,
            user_id=alice.user_id,
            endpoint_id=endpoint_id,
            enabled=True,
            allow_private=True,
        )
    await drain(dispatcher, receiver)
    await dispatcher.close()
    assert len(receiver.delivered()) == 1


async def test_purge_deletes_old_finished_events_and_keeps_pending_ones(
    db: Database, alice: Tenant, receiver: WebhookReceiver
) -> None:
    await endpoint(db, alice, receiver.url)
    await emit(db, alice, 1, 0)
    await emit(db, alice, 2, 1)
    receiver.statuses = [200, 500]
    dispatcher = Dispatcher(db, allow_private=True, retry_base=3600)
    await dispatcher.run_once()
    await dispatcher.close()
    async with db.transaction() as session:
        await session.execute(update(WebhookEvent).values(created_at=utcnow() - timedelta(days=40)))
        assert await store.purge(session, before=utcnow() - timedelta(days=30)) == 1
    async with db.read() as session:
        [kept] = (await session.scalars(select(WebhookEvent))).all()
    [row] = await deliveries(db)
    assert row.status == "pending" and row.event_id == kept.id


async def test_the_http_client_is_built_off_the_event_loop(
    db: Database, alice: Tenant, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Building it loads the CA bundle (tens to hundreds of ms): the server would stall.
    built_on: list[str] = []
    real = dispatcher_module.httpx.AsyncClient

    def recording(*args: Any, **kwargs: Any) -> Any:
        built_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(dispatcher_module.httpx, "AsyncClient", recording)
    await endpoint(db, alice, receiver.url)
    await emit(db, alice, 1, 0)
    await emit(db, alice, 2, 1)
    dispatcher = Dispatcher(db, allow_private=True, concurrency=2)
    try:
        await drain(dispatcher, receiver)
    finally:
        await dispatcher.close()
    assert len(receiver.delivered()) == 2
    assert built_on and threading.main_thread().name not in built_on
