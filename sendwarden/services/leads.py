"""Adding leads: one per website per campaign, validated one by one in bulk."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy.websites import InvalidWebsite, normalize_website
from sendwarden.schemas.campaigns import LeadCreate
from sendwarden.services.errors import InvalidInput
from sendwarden.storage import campaigns
from sendwarden.storage.models import Lead, LeadStatus
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import emit as webhook_events


@dataclass(frozen=True)
class LeadInput:
    website_url: str
    contact_email: str | None  # already normalised
    contact_name: str | None = None
    consent: bool = False
    notes: str | None = None

    @classmethod
    def from_body(cls, body: LeadCreate) -> LeadInput:
        """From the lead body both edges validate (HTTP JSON, CLI options and CSV rows)."""
        return cls(
            website_url=body.website_url,
            contact_email=body.contact_email,
            contact_name=body.contact_name,
            consent=body.consent,
            notes=body.notes,
        )


async def add_lead(
    session: AsyncSession, *, user_id: int, campaign_id: int, data: LeadInput
) -> tuple[Lead, bool]:
    try:
        url, key = normalize_website(data.website_url)
    except InvalidWebsite as exc:
        raise InvalidInput("website_url", str(exc)) from exc
    except ValueError as exc:  # urllib's own: a bad port or a broken IPv6 literal
        raise InvalidInput(
            "website_url", f"{data.website_url!r} is not a valid URL: {exc}"
        ) from exc
    lead = Lead(
        campaign_id=campaign_id,
        user_id=user_id,
        website_url=url,
        website_key=key,
        contact_email=data.contact_email,
        contact_name=data.contact_name,
        status=LeadStatus.DISCOVERED.value,
        consent_recorded_at=utcnow() if data.consent else None,
        notes=data.notes,
    )
    return await campaigns.add_lead(session, lead)


async def set_status(session: AsyncSession, lead: Lead, status: LeadStatus) -> Lead:
    """Set a lead's state by hand (API, CLI, dashboard): its webhook event, then the change."""
    await webhook_events.lead_status(session, lead, status.value)
    lead.status = status.value
    await session.flush()
    return lead
