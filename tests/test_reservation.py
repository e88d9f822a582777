"""The atomic two-slot reservation (product.md §3.4) under real concurrency."""

from __future__ import annotations

import asyncio
import multiprocessing

import pytest

from sendwarden.storage import daily_caps
from sendwarden.storage.db import Database
from tests.support.harness import create_tenant

DAY = "2026-11-25"


async def _reserve(
    db: Database, user_id: int, domain: str, *, user_cap: int, domain_cap: int
) -> bool:
    async with db.transaction() as session:
        result = await daily_caps.reserve_slots(
            session,
            user_id=user_id,
            domain=domain,
            day=DAY,
            user_cap=user_cap,
            domain_cap=domain_cap,
        )
        if not result.ok:
            await session.rollback()
        return result.ok


async def _counts(db: Database, user_id: int, domain: str) -> tuple[int, int]:
    async with db.transaction() as session:
        return (
            await daily_caps.read(session, user_id, "user", daily_caps.USER_SCOPE_KEY, DAY),
            await daily_caps.read(session, user_id, "domain", domain, DAY),
        )


async def test_reservation_200_concurrent_tasks_domain_cap_20(db: Database) -> None:
    tenant = await create_tenant(db, "racer")
    results = await asyncio.gather(
        *(
            _reserve(db, tenant.user_id, "example.com", user_cap=100, domain_cap=20)
            for _ in range(200)
        )
    )
    assert results.count(True) == 20
    assert await _counts(db, tenant.user_id, "example.com") == (20, 20)


async def test_reservation_refused_domain_slot_gives_user_slot_back_without_rollback(
    db: Database,
) -> None:
    tenant = await create_tenant(db, "racer")
    async with db.transaction() as session:  # committed whatever the outcome
        taken = [
            await daily_caps.reserve_slots(
                session,
                user_id=tenant.user_id,
                domain="a.example",
                day=DAY,
                user_cap=10,
                domain_cap=2,
            )
            for _ in range(4)
        ]
    assert [r.ok for r in taken] == [True, True, False, False]
    assert [r.blocked_by for r in taken[2:]] == ["domain", "domain"]
    assert await _counts(db, tenant.user_id, "a.example") == (2, 2)


async def test_reservation_release_slots_gives_both_back(db: Database) -> None:
    tenant = await create_tenant(db, "racer")
    async with db.transaction() as session:
        for _ in range(2):
            await daily_caps.reserve_slots(
                session,
                user_id=tenant.user_id,
                domain="b.example",
                day=DAY,
                user_cap=10,
                domain_cap=10,
            )
        await daily_caps.release_slots(session, user_id=tenant.user_id, domain="b.example", day=DAY)
    assert await _counts(db, tenant.user_id, "b.example") == (1, 1)


async def test_reservation_domain_block_never_consumes_user_slot(db: Database) -> None:
    tenant = await create_tenant(db, "racer")
    for _ in range(3):
        await _reserve(db, tenant.user_id, "a.example", user_cap=10, domain_cap=1)
    assert await _counts(db, tenant.user_id, "a.example") == (1, 1)


async def test_reservation_user_cap_blocks_across_domains(db: Database) -> None:
    tenant = await create_tenant(db, "racer")
    results = await asyncio.gather(
        *(
            _reserve(db, tenant.user_id, f"d{i % 7}.example", user_cap=15, domain_cap=20)
            for i in range(60)
        )
    )
    assert results.count(True) == 15
    user_count, _ = await _counts(db, tenant.user_id, "d0.example")
    assert user_count == 15


async def test_reservation_cap_zero_blocks(db: Database) -> None:
    tenant = await create_tenant(db, "racer")
    assert not await _reserve(db, tenant.user_id, "z.example", user_cap=0, domain_cap=20)
    assert not await _reserve(db, tenant.user_id, "z.example", user_cap=5, domain_cap=0)
    assert await _counts(db, tenant.user_id, "z.example") == (0, 0)


def _worker(
    url: str,
    user_id: int,
    tasks: int,
    start: multiprocessing.synchronize.Event,
    out: multiprocessing.Queue,
) -> None:  # type: ignore[name-defined]
    async def main() -> int:
        # 5 (+5 overflow) connections per process: 8 processes stay under max_connections=100.
        database = Database(url, pool_size=5)
        start.wait()
        oks = await asyncio.gather(
            *(
                _reserve(database, user_id, "example.com", user_cap=100, domain_cap=20)
                for _ in range(tasks)
            )
        )
        await database.dispose()
        return sum(oks)

    try:
        out.put(asyncio.run(main()))
    except BaseException:
        out.put(-1000)  # fail the test at once instead of timing out
        raise


async def test_reservation_200_concurrent_from_8_processes_domain_cap_20(db: Database) -> None:
    tenant = await create_tenant(db, "racer")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    out: multiprocessing.Queue[int] = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(db.url, tenant.user_id, 25, start, out)) for _ in range(8)
    ]
    for p in procs:
        p.start()
    await asyncio.sleep(1.5)  # let every process import and connect before the start signal
    start.set()
    total = sum(await asyncio.to_thread(lambda: [out.get(timeout=120) for _ in procs]))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert total == 20
    assert await _counts(db, tenant.user_id, "example.com") == (20, 20)


@pytest.mark.parametrize("cap", [1, 5])
async def test_reservation_exactly_cap_succeed_sequentially(db: Database, cap: int) -> None:
    tenant = await create_tenant(db, "racer")
    oks = [
        await _reserve(db, tenant.user_id, "s.example", user_cap=100, domain_cap=cap)
        for _ in range(cap + 3)
    ]
    assert oks == [True] * cap + [False] * 3
