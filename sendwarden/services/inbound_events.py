"""Bounces and sender incidents as both edges list them: one page, with evidence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.schemas.common import Page
from sendwarden.schemas.inbound import BounceOut, SenderIncidentOut
from sendwarden.storage import inbound_events
from sendwarden.storage.inbound_events import EventFilter

# A status code or its prefix, as the `status` filter takes it: 5, 5.1, 5.1.1, 550.
STATUS_FILTER = r"^[245](?:\.\d{1,3}){0,2}\.?$|^[245]\d\d$"


async def bounce_page(
    session: AsyncSession, query: EventFilter, *, limit: int, offset: int
) -> Page[BounceOut]:
    """The user's hard and soft bounces, newest first, each with why it was classified so."""
    rows, total = await inbound_events.list_bounces(session, query, limit=limit, offset=offset)
    items = [BounceOut.from_row(row, message_id) for row, message_id in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def incident_page(
    session: AsyncSession, query: EventFilter, *, limit: int, offset: int
) -> Page[SenderIncidentOut]:
    """Refusals of the user's sending (the recipients were not suppressed), newest first."""
    rows, total = await inbound_events.list_incidents(session, query, limit=limit, offset=offset)
    items = [SenderIncidentOut.from_row(row, message_id) for row, message_id in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)
