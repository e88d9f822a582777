"""Campaigns and their leads, always scoped to the owning user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import Campaign, Lead
from sendwarden.storage.pagination import page


async def create_campaign(
    session: AsyncSession, *, user_id: int, name: str, description: str | None
) -> Campaign:
    campaign = Campaign(user_id=user_id, name=name, description=description)
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, *, user_id: int, campaign_id: int) -> Campaign | None:
    return await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, Campaign.user_id == user_id)
    )


async def list_campaigns(
    session: AsyncSession, *, user_id: int, limit: int, offset: int
) -> tuple[list[Campaign], int]:
    return await page(
        session,
        Campaign,
        [Campaign.user_id == user_id],
        order_by=Campaign.id,
        limit=limit,
        offset=offset,
    )


async def delete_campaign(session: AsyncSession, *, user_id: int, campaign_id: int) -> bool:
    result = await session.execute(
        delete(Campaign).where(Campaign.id == campaign_id, Campaign.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lead_counts(session: AsyncSession, campaign_ids: list[int]) -> dict[int, int]:
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(Lead.campaign_id, func.count(Lead.id))
        .where(Lead.campaign_id.in_(campaign_ids))
        .group_by(Lead.campaign_id)
    )
    return {int(cid): int(n) for cid, n in rows.all()}


async def find_lead_by_site(
    session: AsyncSession, *, campaign_id: int, website_key: str
) -> Lead | None:
    return await session.scalar(
        select(Lead).where(Lead.campaign_id == campaign_id, Lead.website_key == website_key)
    )


async def add_lead(session: AsyncSession, lead: Lead) -> tuple[Lead, bool]:
    """Insert a lead unless its site is already in the campaign: (lead, created)."""
    existing = await find_lead_by_site(
        session, campaign_id=lead.campaign_id, website_key=lead.website_key
    )
    if existing is not None:
        return existing, False
    try:
        async with session.begin_nested():
            session.add(lead)
    except IntegrityError:  # a concurrent request added the same site
        existing = await find_lead_by_site(
            session, campaign_id=lead.campaign_id, website_key=lead.website_key
        )
        assert existing is not None
        return existing, False
    return lead, True


@dataclass(frozen=True)
class LeadContact:
    """What a send needs to know about its lead."""

    id: int
    campaign_id: int
    contact_email: str | None
    consent_recorded_at: datetime | None


_LEADS = table_of(Lead)
# Built once: every send runs it (see storage.daily_caps).
_LEAD_CONTACTS = select(
    _LEADS.c.id,
    _LEADS.c.user_id,
    _LEADS.c.campaign_id,
    _LEADS.c.contact_email,
    _LEADS.c.consent_recorded_at,
).where(
    _LEADS.c.id.in_(bindparam("lead_ids", expanding=True)),
    _LEADS.c.user_id.in_(bindparam("user_ids", expanding=True)),
)


LeadRef = tuple[int, int, int]  # (user_id, campaign_id, lead_id)


async def lead_contacts(
    session: AsyncSession, refs: Sequence[LeadRef]
) -> dict[LeadRef, LeadContact]:
    """The leads that exist under their (user, campaign), with one query; others are absent."""
    if not refs:
        return {}
    params = {
        "lead_ids": sorted({lead for _, _, lead in refs}),
        "user_ids": sorted({user for user, _, _ in refs}),
    }
    found = {}
    for row in await session.execute(_LEAD_CONTACTS, params):
        ref = (row.user_id, row.campaign_id, row.id)
        found[ref] = LeadContact(
            row.id, row.campaign_id, row.contact_email, row.consent_recorded_at
        )
    return {ref: found[ref] for ref in refs if ref in found}


async def get_lead(
    session: AsyncSession, *, user_id: int, campaign_id: int, lead_id: int
) -> Lead | None:
    return await session.scalar(
        select(Lead).where(
            Lead.id == lead_id, Lead.campaign_id == campaign_id, Lead.user_id == user_id
        )
    )


async def list_leads(
    session: AsyncSession,
    *,
    user_id: int,
    campaign_id: int,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Lead], int]:
    conditions = [Lead.campaign_id == campaign_id, Lead.user_id == user_id]
    if status is not None:
        conditions.append(Lead.status == status)
    return await page(session, Lead, conditions, order_by=Lead.id, limit=limit, offset=offset)
