"""This process's lease, and the sweep that recovers dead processes' sends (issue 10 item 6).

Every serving process holds a lease (`storage.leases`), refreshed every
`SENDWARDEN_LEASE_HEARTBEAT` seconds by a background task, and owns the
attempts and `Idempotency-Key`s it runs. Every `SENDWARDEN_LEASE_SWEEP_INTERVAL`
seconds each serving process sweeps: leases not refreshed for
`SENDWARDEN_LEASE_EXPIRY` seconds belong to processes that died (kill -9, OOM),
and their in-flight work is settled exactly as start-up recovery settles a
crashed host's: `sending` attempts become `unknown` (their duplicate key stays
reserved, so nothing resends them) and their request keys are freed
(services.crash_recovery does the settling).

A slow but live send is never swept: the heartbeat runs beside it on the same
event loop, whatever SMTP takes. Sweeps are safe to run concurrently on any
number of processes: the expired leases are re-read under a row lock
(PostgreSQL) or the write lock (SQLite) and deleted in the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import timedelta

from sendwarden.config import Settings
from sendwarden.services.crash_recovery import sweep_expired
from sendwarden.storage import leases
from sendwarden.storage.db import Database

log = logging.getLogger("sendwarden.leases")


class LeaseKeeper:
    """This process's lease: heartbeat and sweep in one background task."""

    def __init__(self, settings: Settings, db: Database, owner: str) -> None:
        self.db = db
        self.owner = owner
        self.instance = settings.sendwarden_instance_name
        self.expiry = timedelta(seconds=settings.sendwarden_lease_expiry)
        self.heartbeat_every = settings.sendwarden_lease_heartbeat
        self.sweep_every = settings.sendwarden_lease_sweep_interval
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        async with self.db.transaction() as session:
            await leases.heartbeat(
                session, owner=self.owner, instance=self.instance, pid=os.getpid()
            )

    async def start(self) -> None:
        """Take the lease before serving (so nothing runs unowned), then keep it."""
        with contextlib.suppress(Exception):  # the loop retries; serving must not wait on it
            await self.beat()
        self._task = asyncio.create_task(self._loop(), name="sendwarden-lease")

    async def _loop(self) -> None:
        next_sweep = time.monotonic() + self.sweep_every
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                await self.beat()
            except Exception:  # database briefly away: the next beat retries
                log.warning("lease heartbeat failed", exc_info=True)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.sweep_every
                try:
                    await sweep_expired(self.db, expiry=self.expiry, keep=self.owner)
                except Exception:
                    log.warning("lease sweep failed", exc_info=True)

    async def stop(self) -> None:
        """Graceful shutdown: requests have finished, so the lease can go at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            async with self.db.transaction() as session:
                await leases.remove(session, [self.owner])
