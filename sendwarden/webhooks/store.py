"""Outbox and delivery queries: fan-out, claiming with a lease, recording outcomes.

Claims are safe across processes: on PostgreSQL candidate rows are locked
with FOR UPDATE SKIP LOCKED and leased in the same transaction; on SQLite the
claiming transaction holds the write lock (BEGIN IMMEDIATE), so claims are
serialised. A lease that expires (a dispatcher killed mid-delivery) makes the
delivery claimable again: at-least-once, with the same webhook-id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sendwarden.storage.dialect import dialect_name, table_of
from sendwarden.storage.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

_EVENTS = table_of(WebhookEvent)
_ENDPOINTS = table_of(WebhookEndpoint)
_DELIVERIES = table_of(WebhookDelivery)
_TRY_FAN_OUT_LOCK = text("SELECT pg_try_advisory_xact_lock(7740311)")


def subscribed(events_json: str | None, type_: str) -> bool:
    return events_json is None or type_ in json.loads(events_json)


async def fan_out(session: AsyncSession, *, limit: int, now: datetime) -> int:
    """Turn undispatched events into one pending delivery per subscribed endpoint.

    One fan-out at a time (on PostgreSQL a transaction advisory lock; others skip
    their turn), so deliveries are created in event order: the per-lead order
    of deliveries follows from it.
    """
    if dialect_name(session) == "postgresql" and not await session.scalar(_TRY_FAN_OUT_LOCK):
        return 0
    query = (
        select(_EVENTS.c.id, _EVENTS.c.user_id, _EVENTS.c.type, _EVENTS.c.lead_id)
        .add_columns(_EVENTS.c.endpoint_id)
        .where(_EVENTS.c.fanned_out.is_(False))
        .order_by(_EVENTS.c.id)
        .limit(limit)
    )
    events = (await session.execute(query)).all()
    if not events:
        return 0
    endpoints = (
        await session.execute(
            select(_ENDPOINTS.c.id, _ENDPOINTS.c.user_id, _ENDPOINTS.c.events).where(
                _ENDPOINTS.c.user_id.in_(sorted({e.user_id for e in events})),
                _ENDPOINTS.c.enabled.is_(True),
            )
        )
    ).all()
    rows = [
        {
            "event_id": event.id,
            "endpoint_id": endpoint.id,
            "lead_id": event.lead_id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for endpoint in endpoints
        if endpoint.user_id == event.user_id
        and (
            endpoint.id == event.endpoint_id
            if event.endpoint_id is not None
            else subscribed(endpoint.events, event.type)
        )
    ]
    if rows:
        await session.execute(insert(_DELIVERIES), rows)
    await session.execute(
        update(_EVENTS).where(_EVENTS.c.id.in_([e.id for e in events])).values(fanned_out=True)
    )
    return len(events)


@dataclass(frozen=True)
class Claimed:
    id: int
    event_id: int
    attempts: int
    uid: str
    body: str
    event_created_at: datetime
    url: str
    secrets: list[str]  # sealed: open with signing.SecretBox


_earlier = aliased(_DELIVERIES)
# Order per lead: a delivery waits while an earlier one of its lead, to the same
# endpoint, is still pending (retrying).
_HEAD_OF_LEAD = ~exists().where(
    _earlier.c.endpoint_id == _DELIVERIES.c.endpoint_id,
    _earlier.c.lead_id == _DELIVERIES.c.lead_id,
    _earlier.c.status == PENDING,
    _earlier.c.id < _DELIVERIES.c.id,
)
# Due, and for an enabled endpoint (disabling one pauses its deliveries; they stay pending).
_DUE = and_(
    _DELIVERIES.c.status == PENDING,
    _DELIVERIES.c.next_attempt_at <= bindparam("now"),
    or_(_DELIVERIES.c.lease_until.is_(None), _DELIVERIES.c.lease_until < bindparam("now")),
    _DELIVERIES.c.endpoint_id.in_(select(_ENDPOINTS.c.id).where(_ENDPOINTS.c.enabled.is_(True))),
)


async def claim(
    session: AsyncSession,
    *,
    owner: str,
    limit: int,
    now: datetime,
    lease: timedelta,
    only: int | None = None,
) -> list[Claimed]:
    """Lease due deliveries (heads of their lead) to `owner`; `only` claims one by id."""
    query = select(_DELIVERIES.c.id).where(_DUE, _HEAD_OF_LEAD)
    if only is not None:
        query = query.where(_DELIVERIES.c.id == only)
    query = query.order_by(_DELIVERIES.c.id).limit(limit)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(of=_DELIVERIES, skip_locked=True)
    ids = list((await session.scalars(query, {"now": now})).all())
    if not ids:
        return []
    await session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id.in_(ids))
        .values(lease_until=now + lease, lease_owner=owner)
    )
    rows = await session.execute(
        select(
            _DELIVERIES.c.id,
            _DELIVERIES.c.event_id,
            _DELIVERIES.c.attempts,
            _EVENTS.c.uid,
            _EVENTS.c.body,
            _EVENTS.c.created_at,
            _ENDPOINTS.c.url,
            _ENDPOINTS.c.secret,
            _ENDPOINTS.c.previous_secret,
            _ENDPOINTS.c.previous_secret_until,
        )
        .join(_EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id)
        .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
        .where(_DELIVERIES.c.id.in_(ids))
        .order_by(_DELIVERIES.c.id)
    )
    claimed = []
    for row in rows:
        keys = [row.secret]
        if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
            keys.append(row.previous_secret)
        claimed.append(
            Claimed(
                row.id, row.event_id, row.attempts, row.uid, row.body, row.created_at, row.url, keys
            )
        )
    return claimed


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: str  # delivered, pending (retry later) or dead
    response_code: int | None
    error: str | None
    next_attempt_at: datetime


_RECORD = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id == bindparam("delivery_id"),
        _DELIVERIES.c.lease_owner == bindparam("owner"),
    )
    .values(
        status=bindparam("new_status"),
        attempts=_DELIVERIES.c.attempts + 1,
        last_response_code=bindparam("code"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("next_at"),
        delivered_at=bindparam("delivered"),
        lease_until=None,
        lease_owner=None,
    )
)


async def record(
    session: AsyncSession, outcomes: Sequence[Outcome], *, owner: str, now: datetime
) -> None:
    """Store outcomes of deliveries this owner still holds (a lost lease is ignored)."""
    if not outcomes:
        return
    params = [
        {
            "delivery_id": o.delivery_id,
            "owner": owner,
            "new_status": o.status,
            "code": o.response_code,
            "error": o.error[:300] if o.error else None,
            "next_at": o.next_attempt_at,
            "delivered": now if o.status == DELIVERED else None,
        }
        for o in outcomes
    ]
    await session.execute(_RECORD, params)


async def has_work(session: AsyncSession, now: datetime) -> bool:
    """Cheap read: is anything to fan out or due? (Spares SQLite a write lock when idle.)"""
    undispatched = select(_EVENTS.c.id).where(_EVENTS.c.fanned_out.is_(False)).limit(1)
    if (await session.execute(undispatched)).first() is not None:
        return True
    due = select(_DELIVERIES.c.id).where(_DUE).limit(1)
    return (await session.execute(due, {"now": now})).first() is not None


async def purge(session: AsyncSession, *, before: datetime) -> int:
    """Delete events older than `before` with nothing pending (their deliveries go too)."""
    pending = exists().where(
        _DELIVERIES.c.event_id == _EVENTS.c.id, _DELIVERIES.c.status == PENDING
    )
    result = await session.execute(
        delete(_EVENTS).where(
            _EVENTS.c.fanned_out.is_(True), _EVENTS.c.created_at < before, ~pending
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Backlog:
    depth: int  # events not yet fanned out + deliveries pending
    oldest_age: float  # seconds since the oldest undelivered event was emitted


async def backlog(session: AsyncSession, now: datetime) -> Backlog:
    events = (
        await session.execute(
            select(func.count(), func.min(_EVENTS.c.created_at)).where(
                _EVENTS.c.fanned_out.is_(False)
            )
        )
    ).one()
    pending = (
        await session.execute(
            select(func.count(), func.min(_EVENTS.c.created_at))
            .select_from(_DELIVERIES.join(_EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id))
            .where(_DELIVERIES.c.status == PENDING)
        )
    ).one()
    oldest = [t for t in (events[1], pending[1]) if t is not None]
    age = (now - min(oldest)).total_seconds() if oldest else 0.0
    return Backlog(int(events[0]) + int(pending[0]), max(age, 0.0))
