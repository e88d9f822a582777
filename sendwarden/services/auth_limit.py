"""A per-client limit on failed authentication (issue 10 item 7).

A client (IP address) that failed to authenticate `limit` times within
`window` seconds gets 429 with `Retry-After` for every further failed or
unauthenticated request until the oldest failure ages out. A request with a
valid key is always served, from any client: the limit must never let an
attacker lock a real user out by failing from (or spoofing) the user's address.
API keys carry 256 random bits, so the limit is not what stops guessing; it
caps the noise and load a key scanner causes and makes it visible.

Counted in this process's memory (the `limits` library's moving window): with
`--workers N` or several hosts a client gets up to N times the limit.
"""

from __future__ import annotations

import math
import time

from fastapi import HTTPException
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from sendwarden.observability.metrics import AUTH_FAILURES_LIMITED


class FailedAuthLimit:
    def __init__(self, limit: int, window_seconds: int) -> None:
        self._item = RateLimitItemPerSecond(limit, window_seconds) if limit > 0 else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def refuse(self, client: str, unauthorized: HTTPException) -> HTTPException:
        """The error for a failed authentication from `client`: `unauthorized`, or 429."""
        if self._item is None:
            return unauthorized
        if await self._limiter.hit(self._item, "auth-failure", client):
            return unauthorized
        stats = await self._limiter.get_window_stats(self._item, "auth-failure", client)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        AUTH_FAILURES_LIMITED.inc()
        return HTTPException(
            status_code=429,
            detail="Too many failed authentication attempts from this client:"
            f" retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
