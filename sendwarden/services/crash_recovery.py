"""Crash recovery (product.md §4): settling the work of processes that died mid-send.

A process that dies between reserving a send and recording its outcome leaves
`sending` attempts and in-progress `Idempotency-Key`s behind. Settling them is
the same whenever the death is noticed:
  - at start-up, for everything this host was running (`recover_interrupted_sends`);
  - while serving, for processes whose lease expired (`sweep_expired`, run by
    services.leases.LeaseKeeper).
`sending` attempts become `unknown` (their duplicate key stays reserved, so
nothing resends them) and their `Idempotency-Key`s are freed, so a client may retry.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.config import Settings
from sendwarden.observability import metrics
from sendwarden.storage import (
    attempts,
    duplicate_key_purge,
    http_idempotency,
    leases,
    suppression_imports,
)
from sendwarden.storage.db import Database
from sendwarden.webhooks import emit as webhook_events

log = logging.getLogger("sendwarden.leases")


async def settle_interrupted(session: AsyncSession, owners: Sequence[str]) -> list[int]:
    """What dies with a process: its `sending` attempts become `unknown` (their duplicate
    key stays reserved, so nothing resends them), its `Idempotency-Key`s are freed and
    its background suppression imports fail, saying how far they got."""
    await http_idempotency.release_interrupted(session, owner=owners)
    if failed_imports := await suppression_imports.fail_interrupted(session, owners):
        log.warning("suppression import(s) %s interrupted by a dead process", failed_imports)
    interrupted = await attempts.mark_interrupted_as_unknown(session, owner=owners)
    await webhook_events.attempts_unknown(session, interrupted)
    return interrupted


async def recover_interrupted_sends(settings: Settings, db: Database) -> list[int]:
    """Start-up crash recovery (product.md §4): everything this host was running.

    Owners are the host name (CLI sends, rows from before leases) and the lease
    ids of this host's serving processes; other hosts' work is left alone, and so
    is a sibling server's on this host that is still running (its lease fresh, its
    pid alive): its sends are in progress, not interrupted. A process that died
    moments ago with its pid since reused is settled by the sweep once its lease
    expires.
    """
    instance = settings.sendwarden_instance_name
    expiry = timedelta(seconds=settings.sendwarden_lease_expiry)
    async with db.transaction() as session:
        await http_idempotency.purge_expired(session)
        await duplicate_key_purge.purge_expired(session)
        candidates = {
            *await attempts.sending_owners(session),
            *await http_idempotency.in_progress_owners(session),
            *await leases.all_owners(session),
        }
        running = {
            owner
            for owner, pid in await leases.fresh(session, expiry=expiry)
            if leases.belongs_to(owner, instance) and _process_exists(pid)
        }
        owners = {
            owner
            for owner in candidates
            if leases.belongs_to(owner, instance) and owner not in running
        }
        recovered = await settle_interrupted(session, sorted(owners))
        await leases.remove(session, sorted(owners))
        return recovered


def _process_exists(pid: int) -> bool:
    """Whether a process with this pid runs on this host (processes under one instance
    name share its pid namespace: the name defaults to the host name)."""
    if pid <= 0 or pid == os.getpid():
        return False  # this process has no sends yet; a lease row with our pid is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


async def sweep_expired(db: Database, *, expiry: timedelta, keep: str | None = None) -> list[int]:
    """Settle the in-flight work of processes whose lease expired; returns attempt ids."""
    async with db.read() as session:
        if not await leases.expired(session, expiry=expiry):
            return []  # the usual case: no write transaction at all
    async with db.transaction() as session:
        dead = [o for o in await leases.expired(session, expiry=expiry, lock=True) if o != keep]
        if not dead:
            return []
        recovered = await settle_interrupted(session, dead)
        await leases.remove(session, dead)
    metrics.LEASE_RECOVERED.inc(len(recovered))
    log.warning(
        "recovered the sends of %d dead process(es): %d attempt(s) marked unknown",
        len(dead),
        len(recovered),
        extra={"owners": dead, "attempt_ids": recovered},
    )
    return recovered
