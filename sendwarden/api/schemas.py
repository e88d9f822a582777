"""Request and response models of the HTTP API (field names follow the original spec)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sendwarden.api.fields import DomainName, EmailAddress, FreeText, HeaderText, ShortText
from sendwarden.policy.bounces import decide_bounce
from sendwarden.storage.models import (
    Attempt,
    BounceEvent,
    Campaign,
    Lead,
    LeadStatus,
    Reply,
    SenderIncident,
)

T = TypeVar("T")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CheckOut(BaseModel):
    name: str
    passed: bool
    detail: str


class ValidateRequest(Request):
    recipient_email: EmailAddress
    sender_email: EmailAddress | None = None
    subject: HeaderText | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipient_email": "editor@example.com",
                    "sender_email": "outreach@yourdomain.com",
                    "subject": "Guest Post: AI Marketing Trends",
                }
            ]
        },
    )


class ValidateResponse(BaseModel):
    allowed: bool
    reason: str
    legal_basis: str
    daily_user_count: int
    daily_user_limit: int
    daily_domain_count: int
    daily_domain_limit: int
    region: str
    checks: list[CheckOut]
    effective_sender_email: str
    requested_sender_email: str | None
    recipient_email: str
    registrable_domain: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "allowed": True,
                    "reason": "All checks passed",
                    "legal_basis": "legitimate_interest",
                    "daily_user_count": 23,
                    "daily_user_limit": 100,
                    "daily_domain_count": 5,
                    "daily_domain_limit": 20,
                    "region": "US",
                }
            ]
        }
    )


class SuppressionCreate(Request):
    email: EmailAddress | None = None
    domain: DomainName | None = None
    reason: FreeText | None = Field(default=None, max_length=1000)
    scope: Literal["user", "global"] = "user"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "unsubscribed@example.com", "reason": "User requested unsubscribe"}
            ]
        },
    )

    @model_validator(mode="after")
    def _exactly_one_target(self) -> SuppressionCreate:
        if (self.email is None) == (self.domain is None):
            raise ValueError("give exactly one of 'email' or 'domain'")
        return self


class SuppressionOut(BaseModel):
    id: int
    kind: str
    value: str
    email: str | None
    domain: str | None
    covers: str = Field(description="What the entry blocks (sub-addresses, subdomains)")
    reason: str | None
    source: str
    scope: Literal["user", "global"]
    # Why it was suppressed (automatic entries): source message, status code, classification...
    evidence: dict[str, Any] | None = None
    created_at: datetime
    created: bool | None = None


class ImportRowError(BaseModel):
    line: int
    value: str
    error: str


class ImportReport(BaseModel):
    added: int
    duplicate: int
    invalid: list[ImportRowError]


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


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int | None
    lead_id: int | None
    status: str
    recipient_email: str
    sender_email: str
    requested_sender_email: str | None
    subject: str
    legal_basis: str
    region: str
    reason: str
    message_id: str | None
    created_at: datetime
    sent_at: datetime | None
    checks: list[CheckOut] = []

    @field_validator("checks", mode="before")
    @classmethod
    def _stored_as_json(cls, value: Any) -> Any:
        return json.loads(value or "[]") if isinstance(value, str) else value

    @classmethod
    def from_row(cls, attempt: Attempt) -> AttemptOut:
        return cls.model_validate(attempt)


class ReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    attempt_id: int | None
    campaign_id: int | None
    lead_id: int | None
    from_address: str | None
    subject: str | None
    text: str
    classification: str
    auto_classification: str
    created_at: datetime
    reclassified_at: datetime | None

    @classmethod
    def from_row(cls, reply: Reply) -> ReplyOut:
        return cls.model_validate(reply)


class AuditOut(BaseModel):
    seq: int
    timestamp: datetime
    event: str
    user_id: int | None
    lead_email: str | None
    sender_email: str | None
    requested_sender_email: str | None
    subject: str | None
    policy_result: str | None
    reason: str | None
    legal_basis: str | None
    region: str | None
    attempt_id: int | None
    details: dict[str, Any]
    entry_hash: str
    prev_hash: str


class SendRequestIn(Request):
    campaign_id: int = Field(ge=1, le=2**31 - 1)
    lead_id: int = Field(ge=1, le=2**31 - 1)
    subject: HeaderText = Field(min_length=1)
    body: FreeText = Field(min_length=1, max_length=256 * 1024)
    html_body: FreeText | None = Field(default=None, max_length=512 * 1024)
    sender_email: EmailAddress | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "campaign_id": 1,
                    "lead_id": 1,
                    "subject": "Guest Post: AI Marketing Trends",
                    "body": "Hi! I loved your piece on ...",
                    "sender_email": "outreach@yourdomain.com",
                }
            ]
        },
    )


class BounceOut(BaseModel):
    """A hard or soft bounce: what was matched and why it was classified so."""

    id: int
    recipient: str
    classification: str
    status: str | None
    diagnostic: str | None
    source: str  # dsn (returned by mail) or smtp (rejected at send time)
    attempt_id: int | None
    message_id: str | None  # of the matched attempt
    inbound_message_id: int | None
    explanation: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: BounceEvent, message_id: str | None) -> BounceOut:
        explanation = row.explanation or decide_bounce(row.classification, row.status).explanation
        return cls(
            id=row.id,
            recipient=row.recipient,
            classification=row.classification,
            status=row.status,
            diagnostic=row.diagnostic,
            source=row.source,
            attempt_id=row.attempt_id,
            message_id=message_id,
            inbound_message_id=row.inbound_message_id,
            explanation=explanation,
            created_at=row.created_at,
        )


class SenderIncidentOut(BaseModel):
    """A refusal of OUR sending (policy, reputation, content): the recipient is not suppressed."""

    id: int
    sender_email: str | None
    recipient: str | None
    recipient_domain: str | None
    status: str | None
    diagnostic: str | None
    source: str
    attempt_id: int | None
    message_id: str | None
    inbound_message_id: int | None
    explanation: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: SenderIncident, message_id: str | None) -> SenderIncidentOut:
        explanation = row.explanation or decide_bounce("sender_block", row.status).explanation
        return cls(
            id=row.id,
            sender_email=row.sender_email,
            recipient=row.recipient,
            recipient_domain=row.recipient_domain,
            status=row.status,
            diagnostic=row.diagnostic,
            source=row.source,
            attempt_id=row.attempt_id,
            message_id=message_id,
            inbound_message_id=row.inbound_message_id,
            explanation=explanation,
            created_at=row.created_at,
        )
