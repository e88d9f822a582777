"""Campaign ownership, shared by the HTTP and CLI edges."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.services.errors import NotFound
from sendwarden.storage import campaigns
from sendwarden.storage.models import Campaign


async def owned_campaign(session: AsyncSession, user_id: int, campaign_id: int) -> Campaign:
    """The user's campaign; another user's is reported exactly like a missing one."""
    campaign = await campaigns.get_campaign(session, user_id=user_id, campaign_id=campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign
