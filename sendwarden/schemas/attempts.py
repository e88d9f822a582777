"""A send request and the attempt it became, with the policy checks that decided it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sendwarden.schemas.common import Request
from sendwarden.schemas.fields import EmailAddress, FreeText, HeaderText
from sendwarden.storage.models import Attempt


class CheckOut(BaseModel):
    name: str
    passed: bool
    detail: str


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
