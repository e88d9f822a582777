"""Webhook endpoints and their deliveries (issue 14). Payload schemas: sendwarden.webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sendwarden.api.deps import CurrentUser, Session, State
from sendwarden.schemas.common import Page
from sendwarden.storage.models import WebhookEndpoint
from sendwarden.webhooks import endpoints, signing
from sendwarden.webhooks.catalogue import EVENT_TYPES

router = APIRouter(tags=["webhooks"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Url = Annotated[str, Field(min_length=1, max_length=2048)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://app.example.com/hooks/sendwarden", "events": None}]
        },
    )
    url: Url
    events: list[EventType] | None = Field(
        None, description="event types to receive; omitted or null = all", max_length=50
    )


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url | None = None
    events: list[EventType] | None = Field(None, description="null = all events", max_length=50)
    enabled: bool | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookEndpoint) -> WebhookOut:
        return cls(
            id=row.id,
            url=row.url,
            events=endpoints.event_list(row),
            enabled=row.enabled,
            created_at=row.created_at,
        )


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="whsec_...: shown only in this response; store it now")


class DeliveryOut(BaseModel):
    id: int
    event_id: str = Field(description="the webhook-id header: receivers deduplicate by it")
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    last_response_code: int | None
    last_error: str | None
    next_retry_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


def _with_secret(row: WebhookEndpoint, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookOut.from_row(row).model_dump(), secret=secret)


@router.post("/webhooks", response_model=WebhookWithSecret, status_code=201)
async def create_webhook(
    body: WebhookCreate, user: CurrentUser, session: Session, state: State
) -> WebhookWithSecret:
    """Register an endpoint; the signing secret is shown once, in this response."""
    row, secret = await endpoints.create(
        session,
        user_id=user.id,
        url=body.url,
        events=body.events,
        allow_private=state.settings.sendwarden_webhooks_allow_private,
        box=await signing.secret_box(session, state.settings),
    )
    return _with_secret(row, secret)


@router.get("/webhooks", response_model=Page[WebhookOut])
async def list_webhooks(user: CurrentUser, session: Session) -> Page[WebhookOut]:
    rows = await endpoints.list_for(session, user_id=user.id)
    items = [WebhookOut.from_row(r) for r in rows]
    return Page(items=items, total=len(items), limit=endpoints.MAX_ENDPOINTS_PER_USER, offset=0)


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: Id, user: CurrentUser, session: Session) -> WebhookOut:
    return WebhookOut.from_row(
        await endpoints.get(session, user_id=user.id, endpoint_id=webhook_id)
    )


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut)
async def update_webhook(
    webhook_id: Id, body: WebhookUpdate, user: CurrentUser, session: Session, state: State
) -> WebhookOut:
    row = await endpoints.update_endpoint(
        session,
        user_id=user.id,
        endpoint_id=webhook_id,
        url=body.url,
        events=body.events,
        all_events="events" in body.model_fields_set and body.events is None,
        enabled=body.enabled,
        allow_private=state.settings.sendwarden_webhooks_allow_private,
    )
    return WebhookOut.from_row(row)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: Id, user: CurrentUser, session: Session) -> Response:
    """Delete the endpoint and its deliveries (pending ones are dropped)."""
    await endpoints.delete(session, user_id=user.id, endpoint_id=webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
async def rotate_webhook_secret(
    webhook_id: Id, user: CurrentUser, session: Session, state: State
) -> WebhookWithSecret:
    """A new secret (shown once); the old one also signs for 24 h, so receivers can switch."""
    box = await signing.secret_box(session, state.settings)
    row, secret = await endpoints.rotate_secret(
        session, user_id=user.id, endpoint_id=webhook_id, box=box
    )
    return _with_secret(row, secret)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    webhook_id: Id,
    user: CurrentUser,
    session: Session,
    status: Literal["pending", "delivered", "dead"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeliveryOut]:
    """Deliveries, newest first: status, attempts, last response code, next retry."""
    rows, total = await endpoints.deliveries(
        session, user_id=user.id, endpoint_id=webhook_id, status=status, limit=limit, offset=offset
    )
    items = [DeliveryOut(**vars(r)) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    status_code=202,
)
async def retry_delivery(
    webhook_id: Id, delivery_id: Id, user: CurrentUser, session: Session
) -> DeliveryOut:
    """Make a failed or dead delivery due now; the dispatcher sends it within a second."""
    await endpoints.retry(session, user_id=user.id, endpoint_id=webhook_id, delivery_id=delivery_id)
    view = await endpoints.delivery(
        session, user_id=user.id, endpoint_id=webhook_id, delivery_id=delivery_id
    )
    return DeliveryOut(**vars(view))


@router.post("/webhooks/{webhook_id}/test", response_model=DeliveryOut, status_code=202)
async def test_webhook(webhook_id: Id, user: CurrentUser, session: Session) -> DeliveryOut:
    """Queue a signed `webhook.test` ping to this endpoint only; follow it in deliveries."""
    delivery_id = await endpoints.queue_test(session, user_id=user.id, endpoint_id=webhook_id)
    view = await endpoints.delivery(
        session, user_id=user.id, endpoint_id=webhook_id, delivery_id=delivery_id
    )
    return DeliveryOut(**vars(view))
