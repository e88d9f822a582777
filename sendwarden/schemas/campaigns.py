"""Campaigns and their leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sendwarden.schemas.common import Request
from sendwarden.schemas.fields import EmailAddress, FreeText, ShortText
from sendwarden.storage.models import Campaign, Lead, LeadStatus


class CampaignCreate(Request):
    name: ShortText
    description: FreeText | None = Field(default=None, max_length=5000)


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
    lead_count: int = 0

    @classmethod
    def from_row(cls, campaign: Campaign, lead_count: int = 0) -> CampaignOut:
        return cls.model_validate(campaign).model_copy(update={"lead_count": lead_count})


class LeadCreate(Request):
    website_url: FreeText = Field(min_length=1, max_length=2048)
    contact_email: EmailAddress | None = None
    contact_name: ShortText | None = None
    consent: bool = False
    notes: FreeText | None = Field(default=None, max_length=5000)


class LeadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    website_url: str
    contact_email: str | None
    contact_name: str | None
    status: str
    consent_recorded_at: datetime | None
    # Set when inbound mail asked to remove this lead without authority to (not suppressed).
    review_reason: str | None = None
    created_at: datetime
    created: bool | None = None

    @classmethod
    def from_row(cls, lead: Lead, created: bool | None = None) -> LeadOut:
        return cls.model_validate(lead).model_copy(update={"created": created})


class BulkLeads(Request):
    leads: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class BulkFailure(BaseModel):
    index: int
    error: str


class BulkReport(BaseModel):
    added: int
    skipped: int
    failed: list[BulkFailure]
    leads: list[LeadOut]


class LeadStatusUpdate(Request):
    status: LeadStatus
