"""Request and response models used by the HTTP API only (field names follow the
original spec); shapes the CLI shares live in `sendwarden.schemas`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sendwarden.schemas.attempts import CheckOut
from sendwarden.schemas.common import Request
from sendwarden.schemas.fields import DomainName, EmailAddress, FreeText, HeaderText


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
