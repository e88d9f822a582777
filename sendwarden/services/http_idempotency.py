"""The HTTP `Idempotency-Key` replay (Stripe semantics): a retried request gets the
first response back instead of running again, for 24 h.

Not the 24 h duplicate rule (policy.duplicates), which refuses a second identical
send whoever asks and however; this only makes one client's retries safe.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sendwarden.services.errors import Conflict, InvalidInput
from sendwarden.storage import http_idempotency
from sendwarden.storage.db import Database


@dataclass(frozen=True)
class Reply:
    """A response as the edge will render it, and whether it is a replay."""

    status: int
    content: Any
    replayed: bool = False


def _stored(content: Any) -> str:
    # The compact JSON a JSONResponse renders: a replay returns the same bytes.
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


async def run_once(
    db: Database,
    *,
    user_id: int,
    key: str | None,
    request_hash: str,
    owner: str,
    run: Callable[[], Awaitable[Reply]],
) -> Reply:
    """`run()` the request once per key; a retry with the same key replays its reply.

    The key is claimed before running (a concurrent retry gets 409 while it runs),
    the reply stored after; the same key with other parameters is refused.
    """
    if key is None:
        return await run()
    async with db.transaction() as session:
        existing = await http_idempotency.claim(
            session, user_id=user_id, key=key, request_hash=request_hash, owner=owner
        )
    if existing is not None:
        if existing.request_hash != request_hash:
            raise InvalidInput(
                "Idempotency-Key", "this key was already used with different request parameters"
            )
        if existing.state != http_idempotency.DONE or existing.response_status is None:
            raise Conflict("A request with this Idempotency-Key is still in progress")
        content = json.loads(existing.response_body or "null")
        return Reply(existing.response_status, content, replayed=True)
    try:
        reply = await run()
    except Exception:
        # No response to replay: free the key. A retry cannot resend anything that
        # reached SMTP, because the duplicate key is still held.
        with contextlib.suppress(Exception):
            async with db.transaction() as session:
                await http_idempotency.abandon(session, user_id=user_id, key=key)
        raise
    async with db.transaction() as session:
        await http_idempotency.complete(
            session, user_id=user_id, key=key, status=reply.status, body=_stored(reply.content)
        )
    return reply
