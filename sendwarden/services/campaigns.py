"""Campaigns as both edges read them: ownership, and the campaign and lead lists."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.schemas.campaigns import CampaignOut, LeadOut
from sendwarden.schemas.common import Page
from sendwarden.services.errors import NotFound
from sendwarden.storage import campaigns
from sendwarden.storage.models import Campaign, LeadStatus


async def owned_campaign(session: AsyncSession, user_id: int, campaign_id: int) -> Campaign:
    """The user's campaign; another user's is reported exactly like a missing one."""
    campaign = await campaigns.get_campaign(session, user_id=user_id, campaign_id=campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


async def campaign_page(
    session: AsyncSession, user_id: int, *, limit: int, offset: int
) -> Page[CampaignOut]:
    """The user's campaigns, oldest first, with their lead counts."""
    rows, total = await campaigns.list_campaigns(
        session, user_id=user_id, limit=limit, offset=offset
    )
    counts = await campaigns.lead_counts(session, [c.id for c in rows])
    items = [CampaignOut.from_row(c, counts.get(c.id, 0)) for c in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def lead_page(
    session: AsyncSession,
    user_id: int,
    campaign_id: int,
    *,
    status: LeadStatus | None,
    limit: int,
    offset: int,
) -> Page[LeadOut]:
    """A campaign's leads in the order they were added, optionally in one state."""
    await owned_campaign(session, user_id, campaign_id)
    rows, total = await campaigns.list_leads(
        session,
        user_id=user_id,
        campaign_id=campaign_id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    return Page(items=[LeadOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset)
