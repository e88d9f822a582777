"""API key checks for the HTTP edge: concurrent requests share one read.

`check` reads the database for every request. `check_provisional` may answer from a
short-lived in-process cache: it is only for callers that confirm the key in the same
transaction as their own work (`storage.users.active_key_ids`), so that a revocation
still takes effect on the very next request, in every process.
"""

from __future__ import annotations

import time

from sendwarden.services.group_commit import GroupCommit
from sendwarden.storage import users
from sendwarden.storage.db import Database
from sendwarden.storage.users import Authenticated

CACHE_SECONDS = 30.0
CACHE_ENTRIES = 4096


class KeyChecker:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._batches: GroupCommit[str, Authenticated | None] = GroupCommit(
            self._check_batch, kind="api_key"
        )
        # SHA-256 of the key -> (who it authenticates, monotonic expiry). Never the key itself.
        self._cache: dict[str, tuple[Authenticated, float]] = {}

    async def check(self, plaintext: str) -> Authenticated | None:
        """The key's user, or None if the key is unknown, wrong or revoked."""
        return await self._batches.submit(plaintext)

    def cached(self, plaintext: str) -> Authenticated | None:
        """The key's user if a check found it valid lately, else None (nothing is read).

        Provisional, as `check_provisional`: the caller must confirm the key's id itself.
        """
        return self._cached(users.hash_key(plaintext))

    def _cached(self, digest: str) -> Authenticated | None:
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    async def check_provisional(self, plaintext: str) -> Authenticated | None:
        """`check`, possibly from the cache: the caller must confirm the key's id itself."""
        digest = users.hash_key(plaintext)
        found = self._cached(digest)
        if found is not None:
            return found
        now = time.monotonic()
        found = await self.check(plaintext)
        if found is None:  # wrong keys are never cached: each one counts as a failure
            self._cache.pop(digest, None)
            return None
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[digest] = (found, now + CACHE_SECONDS)
        if found.touch_due:
            await self.touch(found.key_id)
        return found

    def forget(self, key_id: int) -> None:
        """Drop a key found revoked, so that its next request is checked in full."""
        for digest, (found, _) in list(self._cache.items()):
            if found.key_id == key_id:
                del self._cache[digest]

    async def touch(self, key_id: int) -> None:
        async with self._db.transaction() as session:
            await users.touch_key(session, key_id)

    async def _check_batch(self, keys: list[str]) -> list[Authenticated | None]:
        async with self._db.read() as session:
            return await users.check_keys(session, keys)
