"""The events and the JSON Schemas of their `data` (documented in the OpenAPI description).

Event type names and field names are a stable interface: add fields, never
rename or remove them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AttemptData(BaseModel):
    attempt_id: int
    campaign_id: int | None
    lead_id: int | None
    status: str = Field(description="sent, blocked, failed or unknown")
    recipient_email: str
    sender_email: str
    subject: str
    reason: str
    message_id: str | None
    rule: str | None = Field(None, description="attempt.blocked: the policy rule that blocked it")


class BounceData(BaseModel):
    attempt_id: int | None
    lead_id: int | None
    recipient: str
    status: str | None = Field(description="RFC 3463 enhanced status code, e.g. 5.1.1")
    source: str = Field(description="dsn (a returned report) or smtp (rejected at send time)")


class SenderIncidentData(BaseModel):
    attempt_id: int | None
    sender_email: str | None
    recipient_domain: str
    status: str | None
    source: str


class ComplaintData(BaseModel):
    attempt_id: int
    lead_id: int | None
    recipient: str


class ReplyData(BaseModel):
    reply_id: int
    attempt_id: int
    campaign_id: int | None
    lead_id: int | None
    from_address: str | None
    subject: str | None
    reply_class: str = Field(
        alias="class",
        description="interested, not_interested, unsubscribe_request, out_of_office or replied",
    )
    text: str = Field(description="the reply's own text: quoted history and signature stripped")

    model_config = {"populate_by_name": True}


class SuppressionData(BaseModel):
    kind: Literal["email", "domain"]
    value: str
    scope: Literal["user", "global"]
    source: str = Field(
        description="manual, bounce, complaint, reply or unsubscribe"
        " (an import sends one suppression.imported instead)"
    )
    reason: str | None
    attempt_id: int | None


class SuppressionImportData(BaseModel):
    scope: Literal["user", "global"]
    added: int = Field(description="new entries; GET /suppression/export lists them all")
    duplicate: int = Field(description="rows already on the list, or repeated in the file")
    invalid: int = Field(description="lines that are neither an address nor a domain")
    lines: int
    sha256: str = Field(description="digest of the imported file")
    reason: str | None = Field(description="the reason given for rows without their own")
    import_id: int | None = Field(
        description="the background import (GET /suppression/imports/{id}), if it ran as one"
    )


class LeadStatusData(BaseModel):
    lead_id: int
    campaign_id: int
    status: str
    previous_status: str


class TestData(BaseModel):
    endpoint_id: int
    message: str


EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "attempt.sent": (AttemptData, "The SMTP server accepted the message."),
    "attempt.blocked": (AttemptData, "Policy refused the send; `rule` and `reason` say why."),
    "attempt.failed": (AttemptData, "SMTP delivery failed; nothing was sent."),
    "attempt.unknown": (AttemptData, "The outcome of SMTP is unknown; resolve it by hand."),
    "bounce.hard": (BounceData, "A permanent failure for the recipient address."),
    "bounce.soft": (BounceData, "A temporary failure (3 in 7 days suppress the recipient)."),
    "sender.incident": (SenderIncidentData, "A policy/reputation block against OUR sender."),
    "complaint": (ComplaintData, "A spam complaint (ARF feedback report)."),
    "reply.received": (ReplyData, "A reply, classified, with its own text."),
    "suppression.added": (SuppressionData, "An address or domain was suppressed."),
    "suppression.removed": (SuppressionData, "A suppression was lifted."),
    "suppression.imported": (
        SuppressionImportData,
        "An import added entries: one event per import, not one per entry.",
    ),
    "lead.status_changed": (LeadStatusData, "A lead moved to another status."),
}
TEST_EVENT = "webhook.test"
EVENT_TYPES: tuple[str, ...] = tuple(EVENTS)
