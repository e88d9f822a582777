"""Heartbeat rows of serving processes (`process_leases`).

Each serving process refreshes its row every few seconds; attempts and
`Idempotency-Key`s it runs carry its lease id as their `owner`. A row whose
heartbeat is older than the expiry belongs to a process that died (or is stuck
far beyond any SMTP timeout): its in-flight work is recovered by a sweep.
Times are the processes' own clocks (keep hosts in NTP sync; the expiry is
tens of seconds, far above any sane skew).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import ProcessLease
from sendwarden.storage.types import utcnow


def new_owner(instance: str) -> str:
    """A lease id: readable (host and pid) and unique even when a pid is reused."""
    return f"{instance}:{os.getpid()}:{secrets.token_hex(4)}"[-255:]


async def heartbeat(
    session: AsyncSession, *, owner: str, instance: str, pid: int, now: datetime | None = None
) -> None:
    """Refresh this process's lease, creating it (again, if a sweep removed it)."""
    now = now or utcnow()
    result = await session.execute(
        update(ProcessLease).where(ProcessLease.owner == owner).values(heartbeat_at=now)
    )
    if int(result.rowcount or 0):  # type: ignore[attr-defined]
        return
    try:
        async with session.begin_nested():
            session.add(
                ProcessLease(
                    owner=owner, instance=instance, pid=pid, started_at=now, heartbeat_at=now
                )
            )
    except IntegrityError:  # inserted concurrently: only this process writes its row
        pass


async def expired(
    session: AsyncSession, *, expiry: timedelta, now: datetime | None = None, lock: bool = False
) -> list[str]:
    """Owners whose heartbeat is older than `expiry`; `lock` holds their rows (PostgreSQL)
    so that a concurrent sweep or a late heartbeat waits for this transaction."""
    cutoff = (now or utcnow()) - expiry
    query = select(ProcessLease.owner).where(ProcessLease.heartbeat_at < cutoff)
    if lock:
        query = query.with_for_update()
    return list((await session.scalars(query)).all())


async def fresh(
    session: AsyncSession, *, expiry: timedelta, now: datetime | None = None
) -> list[tuple[str, int]]:
    """(owner, pid) of the leases whose heartbeat is within `expiry`."""
    cutoff = (now or utcnow()) - expiry
    rows = await session.execute(
        select(ProcessLease.owner, ProcessLease.pid).where(ProcessLease.heartbeat_at >= cutoff)
    )
    return [(owner, int(pid)) for owner, pid in rows.all()]


def belongs_to(owner: str, instance: str) -> bool:
    """Whether `owner` (a host name, or a lease id made by `new_owner`) is this host's."""
    return owner == instance or owner.rsplit(":", 2)[0] == instance


async def remove(session: AsyncSession, owners: Sequence[str]) -> None:
    if owners:
        await session.execute(delete(ProcessLease).where(ProcessLease.owner.in_(owners)))


async def all_owners(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(ProcessLease.owner))).all())
