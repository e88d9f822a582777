"""Per-process objects the routes share, built once by the application factory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sendwarden.config import Settings
from sendwarden.services.auth import KeyChecker
from sendwarden.services.auth_limit import FailedAuthLimit
from sendwarden.services.context import PolicySettings
from sendwarden.services.send import SendPipeline
from sendwarden.services.wiring import build_pipeline, load_secret
from sendwarden.storage.db import Database
from sendwarden.transport.pool import SmtpPool


@dataclass
class AppState:
    settings: Settings
    db: Database
    policy: PolicySettings
    pool: SmtpPool | None = None
    _pipeline: SendPipeline | None = None
    _secret: bytes | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lease_owner: str = ""  # this process's lease id (storage.leases.new_owner)
    keys: KeyChecker = field(init=False)
    auth_limit: FailedAuthLimit = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyChecker(self.db)
        self.auth_limit = FailedAuthLimit(
            self.settings.sendwarden_auth_failure_limit,
            self.settings.sendwarden_auth_failure_window,
        )

    async def secret(self) -> bytes:
        if self._secret is None:
            self._secret = await load_secret(self.settings, self.db)
        return self._secret

    async def send_pipeline(self) -> SendPipeline:
        async with self._lock:
            if self._pipeline is None:
                self._pipeline, self.pool = build_pipeline(
                    self.settings,
                    self.db,
                    self.policy,
                    await self.secret(),
                    owner=self.lease_owner or None,
                )
        return self._pipeline

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        await self.db.dispose()
