"""Endpoint and delivery operations shared by the HTTP API and the CLI (always per user)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.storage.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import outbox, signing, ssrf, store
from sendwarden.webhooks.catalogue import EVENT_TYPES, TEST_EVENT

MAX_ENDPOINTS_PER_USER = 20
ROTATION_OVERLAP = timedelta(hours=24)


def check_events(events: Sequence[str] | None) -> str | None:
    """The stored form of a subscription: NULL for all events, else a sorted JSON list."""
    if events is None:
        return None
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            "events", f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    if not events:
        raise InvalidInput("events", "subscribe to at least one event (omit it for all)")
    return json.dumps(sorted(set(events)))


def event_list(endpoint: WebhookEndpoint) -> list[str]:
    return list(EVENT_TYPES) if endpoint.events is None else list(json.loads(endpoint.events))


def check_url(url: str, *, allow_private: bool) -> str:
    try:
        ssrf.check_url(url, allow_private=allow_private)
    except ssrf.UnsafeTarget as exc:
        raise InvalidInput("url", str(exc)) from exc
    return url


async def get(session: AsyncSession, *, user_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.user_id == user_id
        )
    )
    if endpoint is None:
        raise NotFound(f"webhook {endpoint_id} not found")
    return endpoint


async def create(
    session: AsyncSession,
    *,
    user_id: int,
    url: str,
    events: Sequence[str] | None,
    allow_private: bool,
    box: signing.SecretBox,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (in the clear only here: stored sealed)."""
    stored_events = check_events(events)
    check_url(url, allow_private=allow_private)
    count = await session.scalar(
        select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.user_id == user_id)
    )
    if int(count or 0) >= MAX_ENDPOINTS_PER_USER:
        raise InvalidInput("url", f"at most {MAX_ENDPOINTS_PER_USER} webhooks per user")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        user_id=user_id, url=url, events=stored_events, enabled=True, secret=box.seal(secret)
    )
    session.add(endpoint)
    await session.flush()
    outbox.endpoints_changed(session, user_id)
    return endpoint, secret


async def list_for(session: AsyncSession, *, user_id: int) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user_id)
        .order_by(WebhookEndpoint.id)
    )
    return list(rows.all())


async def update_endpoint(
    session: AsyncSession,
    *,
    user_id: int,
    endpoint_id: int,
    url: str | None = None,
    events: Sequence[str] | None = None,
    all_events: bool = False,
    enabled: bool | None = None,
    allow_private: bool,
) -> WebhookEndpoint:
    endpoint = await get(session, user_id=user_id, endpoint_id=endpoint_id)
    if url is not None:
        endpoint.url = check_url(url, allow_private=allow_private)
    if all_events:
        endpoint.events = None
    elif events is not None:
        endpoint.events = check_events(events)
    if enabled is not None:
        endpoint.enabled = enabled
    endpoint.updated_at = utcnow()
    await session.flush()
    outbox.endpoints_changed(session, user_id)
    return endpoint


async def delete(session: AsyncSession, *, user_id: int, endpoint_id: int) -> None:
    endpoint = await get(session, user_id=user_id, endpoint_id=endpoint_id)
    await session.delete(endpoint)
    await session.flush()
    outbox.endpoints_changed(session, user_id)


async def rotate_secret(
    session: AsyncSession, *, user_id: int, endpoint_id: int, box: signing.SecretBox
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing too for ROTATION_OVERLAP (two signatures)."""
    endpoint = await get(session, user_id=user_id, endpoint_id=endpoint_id)
    now = utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + ROTATION_OVERLAP
    secret = signing.new_secret()
    endpoint.secret = box.seal(secret)
    endpoint.updated_at = now
    await session.flush()
    return endpoint, secret


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: str  # the webhook-id receivers deduplicate by
    event_type: str
    status: str
    attempts: int
    last_response_code: int | None
    last_error: str | None
    next_retry_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


def _view(delivery: WebhookDelivery, event: WebhookEvent) -> DeliveryView:
    return DeliveryView(
        id=delivery.id,
        event_id=f"msg_{event.uid}",
        event_type=event.type,
        status=delivery.status,
        attempts=delivery.attempts,
        last_response_code=delivery.last_response_code,
        last_error=delivery.last_error,
        next_retry_at=delivery.next_attempt_at if delivery.status == store.PENDING else None,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )


async def deliveries(
    session: AsyncSession,
    *,
    user_id: int,
    endpoint_id: int,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[DeliveryView], int]:
    await get(session, user_id=user_id, endpoint_id=endpoint_id)
    conditions = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        conditions.append(WebhookDelivery.status == status)
    total = await session.scalar(select(func.count(WebhookDelivery.id)).where(*conditions))
    rows = await session.execute(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(*conditions)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_view(d, e) for d, e in rows.tuples()], int(total or 0)


async def delivery(
    session: AsyncSession, *, user_id: int, endpoint_id: int, delivery_id: int
) -> DeliveryView:
    await get(session, user_id=user_id, endpoint_id=endpoint_id)
    row = (
        await session.execute(
            select(WebhookDelivery, WebhookEvent)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found for webhook {endpoint_id}")
    return _view(row[0], row[1])


async def retry(session: AsyncSession, *, user_id: int, endpoint_id: int, delivery_id: int) -> None:
    """Make a delivery due now (a dead one gets another round of attempts)."""
    await delivery(session, user_id=user_id, endpoint_id=endpoint_id, delivery_id=delivery_id)
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status != store.DELIVERED)
        .values(status=store.PENDING, next_attempt_at=utcnow())
    )


async def queue_test(session: AsyncSession, *, user_id: int, endpoint_id: int) -> int:
    """A `webhook.test` event for this endpoint only; returns its delivery id."""
    endpoint = await get(session, user_id=user_id, endpoint_id=endpoint_id)
    now = utcnow()
    event = WebhookEvent(
        uid=uuid.uuid4().hex,
        user_id=user_id,
        type=TEST_EVENT,
        lead_id=None,
        endpoint_id=endpoint.id,
        body=outbox.body_of(
            TEST_EVENT, {"endpoint_id": endpoint.id, "message": "Sendwarden test ping"}, now
        ),
        fanned_out=True,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    row = WebhookDelivery(
        event_id=event.id,
        endpoint_id=endpoint.id,
        lead_id=None,
        status=store.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id
