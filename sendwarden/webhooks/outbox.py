"""The transactional outbox: events are inserted in the caller's transaction.

A crash can then neither lose an event (it commits with its change) nor emit
one for a change that rolled back (it rolls back with it).

Most users have no endpoint, and events are emitted on the send hot path, so
emitters first ask `subscribed_users`: a per-process, per-database set of users
with an enabled endpoint, re-read at most once per CACHE_SECONDS. Correctness
across processes: a process that creates or enables an endpoint pins its user
at once; other processes see it at their next refresh, so an endpoint receives
every event committed from CACHE_SECONDS after its creation on (immediately in
the creating process). A stale "has endpoints" answer after a delete only
writes an event that fans out to no endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import WebhookEndpoint, WebhookEvent
from sendwarden.storage.types import utcnow

CACHE_SECONDS = 1.0

_EVENTS = table_of(WebhookEvent)
_ENDPOINTS = table_of(WebhookEndpoint)
_INSERT = insert(_EVENTS)
_SUBSCRIBED = select(_ENDPOINTS.c.user_id).where(_ENDPOINTS.c.enabled.is_(True)).distinct()


@dataclass(frozen=True)
class NewEvent:
    user_id: int
    type: str
    data: dict[str, Any]
    lead_id: int | None = None
    endpoint_id: int | None = None  # only for a test ping to one endpoint


@dataclass
class _Subscribers:
    users: frozenset[int] = frozenset()
    expires: float = 0.0
    pinned: dict[int, float] = field(default_factory=dict)


_caches: weakref.WeakKeyDictionary[Engine, _Subscribers] = weakref.WeakKeyDictionary()
# Dispatchers of this process, woken whenever an event is written so that they look soon.
# Each with its loop: events may be written from a thread (storage.writer_thread).
wakeups: weakref.WeakKeyDictionary[asyncio.Event, asyncio.AbstractEventLoop] = (
    weakref.WeakKeyDictionary()
)


def _cache(session: AsyncSession) -> _Subscribers:
    engine = session.get_bind().engine
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = _Subscribers()
    return cache


async def subscribed_users(session: AsyncSession) -> frozenset[int]:
    """Users with at least one enabled endpoint (see the module docstring for staleness)."""
    cache = _cache(session)
    now = time.monotonic()
    if now >= cache.expires:
        cache.users = frozenset((await session.scalars(_SUBSCRIBED)).all())
        cache.expires = now + CACHE_SECONDS
    if cache.pinned:
        cache.pinned = {u: until for u, until in cache.pinned.items() if until > now}
        return cache.users | cache.pinned.keys()
    return cache.users


def endpoints_changed(session: AsyncSession, user_id: int) -> None:
    """This process changed the user's endpoints: refresh, and emit for the user at once."""
    cache = _cache(session)
    cache.expires = 0.0
    cache.pinned[user_id] = time.monotonic() + 3 * CACHE_SECONDS


def body_of(type_: str, data: dict[str, Any], at: datetime) -> str:
    envelope = {"type": type_, "timestamp": at.isoformat(), "data": data}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str)


async def emit_many(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Insert the events (one statement) in the caller's transaction."""
    if not events:
        return
    now = utcnow()
    rows = [
        {
            "uid": uuid.uuid4().hex,
            "user_id": e.user_id,
            "type": e.type,
            "lead_id": e.lead_id,
            "endpoint_id": e.endpoint_id,
            "body": body_of(e.type, e.data, now),
            "fanned_out": False,
            "created_at": now,
        }
        for e in events
    ]
    await session.execute(_INSERT, rows)
    for event, loop in list(wakeups.items()):
        with contextlib.suppress(RuntimeError):  # that loop has closed
            loop.call_soon_threadsafe(event.set)


async def emit(
    session: AsyncSession,
    type_: str,
    data: dict[str, Any],
    *,
    user_id: int,
    lead_id: int | None = None,
) -> None:
    """One event, if the user has an endpoint."""
    if user_id in await subscribed_users(session):
        await emit_many(session, [NewEvent(user_id, type_, data, lead_id)])
