"""Delivers outbox events: fan out, claim with a lease, POST signed, record, retry.

Retries back off exponentially (base x 2^(n-1), at most MAX_DELAY) with
+-20 % jitter, until the event is RETRY_FOR old; then the delivery is `dead`.
Redirects are not followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
from cryptography.fernet import InvalidToken

from sendwarden import __version__
from sendwarden.config import Settings
from sendwarden.observability.logging import get_logger
from sendwarden.storage.db import Database
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import outbox, signing, ssrf, store
from sendwarden.webhooks.metrics import DELIVERIES, OLDEST_UNDELIVERED, OUTBOX_DEPTH

RETRY_FOR = timedelta(days=3)
MAX_DELAY = timedelta(hours=6)
WAKE_DELAY = 0.2
KEEP_EVENTS = timedelta(days=30)  # delivered or dead events are deleted after this
log = get_logger("sendwarden.webhooks")


class Dispatcher:
    def __init__(
        self,
        db: Database,
        *,
        allow_private: bool = False,
        retry_base: float = 5.0,
        timeout: float = 10.0,
        batch: int = 100,
        concurrency: int = 16,
        poll_interval: float = 1.0,
        owner: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.settings = settings  # for the key of stored secrets (signing.secret_box)
        self._box: signing.SecretBox | None = None
        self.allow_private = allow_private
        self.retry_base = retry_base
        self.timeout = timeout
        self.batch = batch
        self.poll_interval = poll_interval
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Long enough for one delivery to finish; a dispatcher that dies holding a
        # lease delays its deliveries by this much, then another takes them over.
        self.lease = timedelta(seconds=2 * timeout + 5)
        self._slots = asyncio.Semaphore(concurrency)
        self._client: httpx.AsyncClient | None = None
        self._metrics_at = 0.0
        self._purged_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, **kwargs: object) -> Dispatcher:
        return cls(
            db,
            allow_private=settings.sendwarden_webhooks_allow_private,
            retry_base=settings.sendwarden_webhooks_retry_base,
            timeout=settings.sendwarden_webhooks_timeout,
            settings=settings,
            **kwargs,  # type: ignore[arg-type]
        )

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Built in a thread: it loads the CA bundle into an SSL context, 35-290 ms
            # of CPU here, and the server stopped answering for that long at its first
            # webhook. Two first deliveries at once may build two: the second is closed.
            client = await asyncio.to_thread(
                httpx.AsyncClient, follow_redirects=False, trust_env=False, timeout=self.timeout
            )
            if self._client is None:
                self._client = client
            else:
                await client.aclose()
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        """One round: fan out, claim, deliver, record. Returns how many were attempted."""
        now = utcnow()
        async with self.db.read() as session:
            if not await store.has_work(session, now):
                return 0
        async with self.db.transaction() as session:
            await store.fan_out(session, limit=self.batch, now=now)
            claimed = await store.claim(
                session, owner=self.owner, limit=self.batch, now=now, lease=self.lease
            )
        if claimed:
            await self._deliver_and_record(claimed)
        return len(claimed)

    async def deliver_now(self, delivery_id: int) -> bool:
        """Deliver one due delivery at once (test pings and manual retries)."""
        async with self.db.transaction() as session:
            claimed = await store.claim(
                session,
                owner=self.owner,
                limit=1,
                now=utcnow(),
                lease=self.lease,
                only=delivery_id,
            )
        if claimed:
            await self._deliver_and_record(claimed)
        return bool(claimed)

    async def _secrets(self, claimed: store.Claimed) -> list[str]:
        if self._box is None:
            async with self.db.transaction() as session:
                self._box = await signing.secret_box(session, self.settings)
        return [self._box.open(sealed) for sealed in claimed.secrets]

    async def _deliver_and_record(self, claimed: Sequence[store.Claimed]) -> None:
        outcomes = await asyncio.gather(*(self._deliver(c) for c in claimed))
        async with self.db.transaction() as session:
            await store.record(session, outcomes, owner=self.owner, now=utcnow())
        for outcome in outcomes:
            result = "retry" if outcome.status == store.PENDING else outcome.status
            DELIVERIES.labels(result).inc()

    async def _deliver(self, claimed: store.Claimed) -> store.Outcome:
        async with self._slots:
            try:
                targets = await ssrf.resolve(claimed.url, allow_private=self.allow_private)
            except ssrf.UnsafeTarget as exc:
                return self._failed(claimed, None, f"refused: {exc}")
            try:
                keys = await self._secrets(claimed)
            except InvalidToken:  # sealed under another SENDWARDEN_SECRET_KEY
                return self._failed(claimed, None, "the endpoint secret cannot be read")
            headers = signing.headers(msg_id=f"msg_{claimed.uid}", body=claimed.body, secrets_=keys)
            headers["user-agent"] = f"Sendwarden-Webhooks/{__version__}"
            error = "no address"
            for target in targets:  # each resolved address in turn, as a browser would
                try:
                    response = await self._post(target, claimed.body, headers)
                except httpx.ConnectError as exc:
                    error = f"ConnectError: {exc}"[:300]
                    continue
                except httpx.HTTPError as exc:
                    return self._failed(claimed, None, f"{type(exc).__name__}: {exc}"[:300])
                if 200 <= response.status_code < 300:
                    return store.Outcome(
                        claimed.id, store.DELIVERED, response.status_code, None, utcnow()
                    )
                return self._failed(claimed, response.status_code, f"HTTP {response.status_code}")
            return self._failed(claimed, None, error)

    async def _post(
        self, target: ssrf.PinnedTarget, body: str, headers: dict[str, str]
    ) -> httpx.Response:
        """POST to the checked address itself: the name is not resolved again."""
        extensions = {"sni_hostname": target.server_name} if target.url.scheme == "https" else {}
        return await (await self._http()).post(
            target.url,
            content=body.encode(),
            headers={**headers, "host": target.host_header},
            extensions=extensions,
        )

    def _failed(self, claimed: store.Claimed, code: int | None, error: str) -> store.Outcome:
        now = utcnow()
        delay = self.retry_delay(claimed.attempts + 1)
        next_at = now + delay
        status = store.DEAD if next_at > claimed.event_created_at + RETRY_FOR else store.PENDING
        log.info(
            "webhook delivery failed", delivery_id=claimed.id, code=code, error=error, status=status
        )
        return store.Outcome(claimed.id, status, code, error, next_at)

    def retry_delay(self, attempts: int) -> timedelta:
        base = min(self.retry_base * 2 ** min(attempts - 1, 30), MAX_DELAY.total_seconds())
        return timedelta(seconds=base * random.uniform(0.8, 1.2))

    async def refresh_metrics(self, now: datetime | None = None) -> store.Backlog:
        async with self.db.read() as session:
            backlog = await store.backlog(session, now or utcnow())
        OUTBOX_DEPTH.set(backlog.depth)
        OLDEST_UNDELIVERED.set(backlog.oldest_age)
        return backlog

    async def run_forever(self) -> None:
        wake = asyncio.Event()
        outbox.wakeups[wake] = asyncio.get_running_loop()
        try:
            while True:
                try:
                    if await self.run_once():
                        continue
                    if time.monotonic() - self._metrics_at > 5:
                        self._metrics_at = time.monotonic()
                        await self.refresh_metrics()
                    if time.monotonic() - self._purged_at > 3600:
                        self._purged_at = time.monotonic()
                        async with self.db.transaction() as session:
                            await store.purge(session, before=utcnow() - KEEP_EVENTS)
                except Exception:  # keep dispatching whatever one round did
                    log.exception("webhook dispatch round failed")
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), self.poll_interval)
                    # Let the emitting transaction commit, and more events gather: one
                    # round per burst, not per event, keeps write transactions (SQLite's
                    # single writer, which the sends need) few.
                    await asyncio.sleep(WAKE_DELAY)
                except TimeoutError:
                    pass
        finally:
            outbox.wakeups.pop(wake, None)
            await self.close()


def start(settings: Settings, db: Database) -> asyncio.Task[None] | None:
    """The dispatcher task of `serve` (every worker runs one; claims keep them apart)."""
    if not settings.sendwarden_webhooks_dispatch:
        return None
    dispatcher = Dispatcher.from_settings(settings, db)
    return asyncio.create_task(dispatcher.run_forever(), name="sendwarden-webhooks")
