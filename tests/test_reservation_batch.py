"""A batch's reservations taken at once (storage/reservations.py): all of them, or
none, leaving the one-request-at-a-time path to find out who lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from sendwarden.storage import daily_caps, duplicate_keys
from sendwarden.storage.db import Database
from sendwarden.storage.models import DuplicateKey
from sendwarden.storage.reservations import Wanted, reserve_all
from sendwarden.storage.types import utcnow
from tests.support.harness import create_tenant

DAY = "2026-11-25"


async def _reserve(
    db: Database, wanted: list[Wanted], *, user_cap: int = 100, domain_cap: int = 100
) -> bool:
    async with db.transaction() as session:
        return await reserve_all(session, wanted, day=DAY, user_cap=user_cap, domain_cap=domain_cap)


async def _state(db: Database, user_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """(counters by scope key, '' for the user's; attempt id by key hash)."""
    async with db.transaction() as session:
        counters = await daily_caps.read_many(
            session, user_ids=[user_id], domains=["a.example", "b.example"], day=DAY
        )
        keys = (await session.execute(select(DuplicateKey.key_hash, DuplicateKey.attempt_id))).all()
    return {key: count for (_, _, key), count in counters.items()}, {
        k: a for k, a in keys if a is not None
    }


def _wanted(user_id: int, *domains_and_keys: tuple[str, str]) -> list[Wanted]:
    return [Wanted(user_id, d, k, n) for n, (d, k) in enumerate(domains_and_keys, start=1)]


async def test_a_batch_that_fits_takes_every_slot_and_key(db: Database) -> None:
    user = (await create_tenant(db, "batch")).user_id
    wanted = _wanted(user, ("a.example", "k1"), ("a.example", "k2"), ("b.example", "k3"))
    assert await _reserve(db, wanted, user_cap=3, domain_cap=2)
    counters, keys = await _state(db, user)
    assert counters == {"": 3, "a.example": 2, "b.example": 1}
    assert keys == {"k1": 1, "k2": 2, "k3": 3}
    # The counters exist now: the next batch takes the update path, still capped.
    more = [Wanted(user, "b.example", "k4", 4), Wanted(user, "b.example", "k5", 5)]
    assert not await _reserve(db, more, user_cap=4)
    assert await _reserve(db, more, user_cap=5)


async def test_a_batch_over_a_cap_takes_nothing(db: Database) -> None:
    user = (await create_tenant(db, "batch")).user_id
    assert await _reserve(db, _wanted(user, ("a.example", "k1"), ("b.example", "k2")))
    # One slot left on a.example: two more there do not fit, so nothing is taken.
    over = _wanted(user, ("a.example", "k3"), ("a.example", "k4"), ("b.example", "k5"))
    assert not await _reserve(db, over, domain_cap=2)
    over_user = _wanted(user, ("b.example", "k3"), ("b.example", "k4"))
    assert not await _reserve(db, over_user, user_cap=3)
    assert await _state(db, user) == ({"": 2, "a.example": 1, "b.example": 1}, {"k1": 1, "k2": 2})


async def test_a_held_key_or_a_repeated_one_takes_nothing(db: Database) -> None:
    user = (await create_tenant(db, "batch")).user_id
    assert await _reserve(db, _wanted(user, ("a.example", "k1"), ("a.example", "k2")))
    before = await _state(db, user)
    assert not await _reserve(db, _wanted(user, ("b.example", "k3"), ("b.example", "k1")))
    assert not await _reserve(db, _wanted(user, ("b.example", "k3"), ("b.example", "k3")))
    assert await _state(db, user) == before


async def test_a_key_used_over_a_day_ago_is_taken_again(db: Database) -> None:
    user = (await create_tenant(db, "batch")).user_id
    assert await _reserve(db, _wanted(user, ("a.example", "k5"), ("a.example", "k2")))
    async with db.transaction() as session:
        await duplicate_keys.mark_used(session, attempt_ids=[1, 2])
    # k5 comes second in key order: what the conflict writes must be its own row's.
    again = [Wanted(user, "b.example", "k5", 7), Wanted(user, "b.example", "k1", 8)]
    assert not await _reserve(db, again)
    old = utcnow() - duplicate_keys.KEY_LIFETIME - timedelta(minutes=1)
    async with db.transaction() as session:
        await session.execute(
            update(DuplicateKey).where(DuplicateKey.key_hash == "k5").values(used_at=old)
        )
    assert await _reserve(db, again)
    _, keys = await _state(db, user)
    assert keys == {"k5": 7, "k2": 2, "k1": 8}


async def test_a_lone_request_is_left_to_the_one_at_a_time_path(db: Database) -> None:
    user = (await create_tenant(db, "batch")).user_id
    assert not await _reserve(db, _wanted(user, ("a.example", "k1")))
    assert await _state(db, user) == ({}, {})
