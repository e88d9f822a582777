"""Bounces and sender incidents with their evidence (product.md §2, issue 11 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from sendwarden.api.deps import CurrentUser, Session
from sendwarden.api.pagination import Limit, Offset
from sendwarden.schemas.common import Page
from sendwarden.schemas.fields import FreeText
from sendwarden.schemas.inbound import BounceOut, SenderIncidentOut
from sendwarden.services.inbound_events import STATUS_FILTER, bounce_page, incident_page
from sendwarden.storage import inbound_events

router = APIRouter(tags=["bounces"])

StatusFilter = Annotated[
    str | None,
    Query(
        pattern=STATUS_FILTER,
        description="Status code or prefix: 5, 5.1, 5.1.1",
    ),
]
RecipientFilter = Annotated[
    FreeText | None, Query(max_length=320, description="An address, or a domain")
]


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@router.get("/bounces", response_model=Page[BounceOut])
async def list_bounces(
    user: CurrentUser,
    session: Session,
    kind: Literal["hard", "soft"] | None = None,
    status: StatusFilter = None,
    recipient: RecipientFilter = None,
    source: Literal["dsn", "smtp"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[BounceOut]:
    """Your hard and soft bounces, newest first: status, diagnostic, the matched attempt
    and its Message-ID, and why the bounce was classified as it was."""
    return await bounce_page(
        session,
        inbound_events.EventFilter(
            user_id=user.id,
            kind=kind,
            status=status,
            recipient=recipient,
            source=source,
            since=_aware(since),
            until=_aware(until),
        ),
        limit=limit,
        offset=offset,
    )


@router.get("/sender-incidents", response_model=Page[SenderIncidentOut])
async def list_sender_incidents(
    user: CurrentUser,
    session: Session,
    status: StatusFilter = None,
    recipient: RecipientFilter = None,
    source: Literal["dsn", "smtp"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SenderIncidentOut]:
    """Rejections of YOUR sending (policy, reputation, content blocks), newest first; the
    recipients were not suppressed."""
    return await incident_page(
        session,
        inbound_events.EventFilter(
            user_id=user.id,
            status=status,
            recipient=recipient,
            source=source,
            since=_aware(since),
            until=_aware(until),
        ),
        limit=limit,
        offset=offset,
    )
