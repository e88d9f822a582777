"""API key checks for the HTTP edge: concurrent requests share one read."""

from __future__ import annotations

from sendwarden.services.group_commit import GroupCommit
from sendwarden.storage import users
from sendwarden.storage.db import Database
from sendwarden.storage.users import Authenticated


class KeyChecker:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._batches: GroupCommit[str, Authenticated | None] = GroupCommit(self._check_batch)

    async def check(self, plaintext: str) -> Authenticated | None:
        """The key's user, or None if the key is unknown, wrong or revoked."""
        return await self._batches.submit(plaintext)

    async def touch(self, key_id: int) -> None:
        async with self._db.transaction() as session:
            await users.touch_key(session, key_id)

    async def _check_batch(self, keys: list[str]) -> list[Authenticated | None]:
        async with self._db.read() as session:
            return await users.check_keys(session, keys)
