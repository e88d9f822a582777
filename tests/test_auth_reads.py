"""API key checks: batched across concurrent requests, and read-only on SQLite."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from sendwarden.storage import users
from sendwarden.storage.db import Database
from sendwarden.storage.models import ApiKey, User
from tests.support.api_helpers import API, make_campaign
from tests.support.harness import ApiHarness, AppFactory, create_tenant


async def test_concurrent_key_checks_share_reads_and_answer_each_key(
    api_factory: AppFactory,
) -> None:
    app: ApiHarness = await api_factory()
    own = {
        name: await make_campaign(app.client, tenant.headers, name)
        for name, tenant in (("alice", app.alice), ("bob", app.bob))
    }
    revoked = await create_tenant(app.db, "carol")
    async with app.db.transaction() as session:
        await session.execute(
            update(ApiKey)
            .values(revoked_at=ApiKey.created_at)
            .where(ApiKey.user_id == revoked.user_id)
        )
    callers = {
        "alice": app.alice.headers,
        "bob": app.bob.headers,
        "revoked": revoked.headers,
        "wrong": {"Authorization": f"Bearer {app.alice.key[:-4]}abcd"},
        "unknown": {"Authorization": "Bearer sw_000000000000_" + "x" * 43},
    }
    before = app.state.keys._batches.batches
    order = [name for name in callers for _ in range(6)]
    responses = await asyncio.gather(
        *(app.client.get(f"{API}/campaigns", headers=callers[name]) for name in order)
    )
    for name, response in zip(order, responses, strict=True):
        if name in own:
            assert response.status_code == 200, (name, response.text)
            assert [c["id"] for c in response.json()["items"]] == [own[name]]
        else:
            assert response.status_code == 401, (name, response.text)
    assert app.state.keys._batches.batches - before < len(order)


async def test_check_keys_answers_in_order_with_one_query(db: Database) -> None:
    alice = await create_tenant(db, "alice")
    bob = await create_tenant(db, "bob")
    async with db.read() as session:
        found = await users.check_keys(
            session, [bob.key, "not-a-key", alice.key, alice.key + "x", bob.key]
        )
    assert [f.user.id if f else None for f in found] == [
        bob.user_id,
        None,
        alice.user_id,
        None,
        bob.user_id,
    ]
    assert found[0] is not None and found[0].touch_due


async def test_key_use_is_recorded_at_most_once_a_minute(api_factory: AppFactory) -> None:
    app: ApiHarness = await api_factory()
    for _ in range(3):
        r = await app.client.get(f"{API}/campaigns", headers=app.alice.headers)
        assert r.status_code == 200
    async with app.db.transaction() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.user_id == app.alice.user_id))
        assert key is not None and key.last_used_at is not None
        first_use = key.last_used_at
    await app.client.get(f"{API}/campaigns", headers=app.alice.headers)
    async with app.db.transaction() as session:
        again = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key.id))
    assert again == first_use


async def test_read_transaction_does_not_wait_for_the_sqlite_writer(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        tenant = await create_tenant(db, "reader")
        writing = asyncio.Event()
        finish = asyncio.Event()

        async def long_writer() -> None:
            async with db.transaction() as session:
                await session.execute(update(User).values(name="renamed"))
                writing.set()
                await finish.wait()

        writer = asyncio.create_task(long_writer())
        await writing.wait()
        async with asyncio.timeout(2):  # a queued read would wait for `finish` forever
            async with db.read() as session:
                name = await session.scalar(select(User.name).where(User.id == tenant.user_id))
        assert name == "reader"  # the last commit, not the writer's uncommitted change
        finish.set()
        await writer
    finally:
        await db.dispose()
