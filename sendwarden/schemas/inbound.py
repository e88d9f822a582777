"""What inbound mail produced: replies, bounces, incidents against our sender."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from sendwarden.policy.bounces import decide_bounce
from sendwarden.storage.models import BounceEvent, Reply, SenderIncident


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
