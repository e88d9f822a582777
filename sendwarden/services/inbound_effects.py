"""What inbound events do to the database: suppressions, lead statuses, incidents.

Every automatic suppression is audited with its source and the message that
caused it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.inbound.dsn import classify_smtp_reply
from sendwarden.inbound.model import BounceClass
from sendwarden.observability import metrics
from sendwarden.policy import InvalidAddress, address_key, normalize_email
from sendwarden.services import suppressions
from sendwarden.storage import audit
from sendwarden.storage.models import (
    Attempt,
    BounceEvent,
    Lead,
    LeadStatus,
    SenderIncident,
    Suppression,
    SuppressionKind,
    SuppressionSource,
)
from sendwarden.storage.types import utcnow
from sendwarden.transport.errors import DeliveryError
from sendwarden.webhooks import emit as webhook_events

SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=7)


async def suppress_recipient(
    session: AsyncSession,
    *,
    user_id: int,
    recipient: str,
    source: SuppressionSource,
    reason: str,
    attempt_id: int | None,
    evidence: dict[str, Any],
) -> Suppression | None:
    try:
        value = address_key(normalize_email(recipient))
    except InvalidAddress:
        return None
    row, created = await suppressions.add(
        session,
        user_id=user_id,
        actor_id=user_id,
        kind=SuppressionKind.EMAIL,
        value=value,
        reason=reason,
        source=source,
        attempt_id=attempt_id,
        evidence={"automatic": True, **evidence},
    )
    if created:
        metrics.SUPPRESSIONS.labels(source.value).inc()
    return row


async def set_lead_status(session: AsyncSession, lead_id: int | None, status: LeadStatus) -> None:
    if lead_id is None:
        return
    lead = await session.get(Lead, lead_id)
    if lead is not None:
        await webhook_events.lead_status(session, lead, status.value)
        lead.status = status.value


async def record_bounce(
    session: AsyncSession,
    *,
    user_id: int,
    attempt: Attempt | None,
    recipient: str,
    classification: BounceClass,
    status: str | None,
    diagnostic: str | None,
    source: str,
    inbound_message_id: int | None = None,
) -> bool:
    """Record one failed delivery; True if it suppressed the recipient."""
    if classification == BounceClass.NOT_A_FAILURE:
        return False
    attempt_id = attempt.id if attempt is not None else None
    evidence = {
        "status": status,
        "classification": classification.value,
        "via": source,
        "inbound_message_id": inbound_message_id,
        "message_id": attempt.message_id if attempt is not None else None,
    }
    if classification == BounceClass.SENDER_BLOCK:
        session.add(
            SenderIncident(
                user_id=user_id,
                attempt_id=attempt_id,
                sender_email=attempt.sender_email if attempt is not None else None,
                recipient_domain=recipient.rpartition("@")[2].lower(),
                status=status,
                diagnostic=(diagnostic or "")[:2000] or None,
                source=source,
            )
        )
        metrics.SENDER_INCIDENTS.inc()
        await webhook_events.sender_incident(session, user_id, attempt, recipient, status, source)
        await audit.append(
            session,
            audit.AuditRecord(
                event="sender_incident",
                user_id=user_id,
                lead_email=recipient,
                sender_email=attempt.sender_email if attempt is not None else None,
                reason="Rejected for a policy or reputation reason on OUR side; "
                "the recipient is not suppressed",
                attempt_id=attempt_id,
                details=evidence,
            ),
        )
        return False
    session.add(
        BounceEvent(
            user_id=user_id,
            attempt_id=attempt_id,
            recipient=recipient,
            classification=classification.value,
            status=status,
            diagnostic=(diagnostic or "")[:2000] or None,
            source=source,
            inbound_message_id=inbound_message_id,
        )
    )
    await session.flush()
    await webhook_events.bounce(
        session, user_id, attempt, recipient, classification, status, source
    )
    lead_id = attempt.lead_id if attempt is not None else None
    if classification == BounceClass.HARD:
        await suppress_recipient(
            session,
            user_id=user_id,
            recipient=recipient,
            source=SuppressionSource.BOUNCE,
            reason=f"Hard bounce ({status or 'permanent failure'})",
            attempt_id=attempt_id,
            evidence=evidence,
        )
        await set_lead_status(session, lead_id, LeadStatus.BOUNCED)
        return True
    recent = await session.scalar(
        select(func.count(BounceEvent.id)).where(
            BounceEvent.user_id == user_id,
            func.lower(BounceEvent.recipient) == recipient.lower(),
            BounceEvent.classification == BounceClass.SOFT.value,
            BounceEvent.created_at >= utcnow() - SOFT_BOUNCE_WINDOW,
        )
    )
    if int(recent or 0) >= SOFT_BOUNCE_LIMIT:
        await suppress_recipient(
            session,
            user_id=user_id,
            recipient=recipient,
            source=SuppressionSource.BOUNCE,
            reason=f"{SOFT_BOUNCE_LIMIT} soft bounces within 7 days",
            attempt_id=attempt_id,
            evidence={**evidence, "soft_bounces_in_window": int(recent or 0)},
        )
        await set_lead_status(session, lead_id, LeadStatus.BOUNCED)
        return True
    return False


async def record_send_time_rejection(
    session: AsyncSession, attempt: Attempt, error: DeliveryError
) -> None:
    """A 5xx at RCPT counts exactly like a returned bounce (product.md §6)."""
    classification = classify_smtp_reply(
        error.code or 550, error.enhanced_status, error.server_message
    )
    await record_bounce(
        session,
        user_id=attempt.user_id,
        attempt=attempt,
        recipient=attempt.recipient_email,
        classification=classification,
        status=error.enhanced_status or (str(error.code) if error.code else None),
        diagnostic=error.server_message,
        source="smtp",
    )
