"""The one handler for what inbound events do: suppressions, lead statuses, incidents.

Every source (a returned DSN, a rejection at send time, a complaint, a reply, a
one-click or mailto unsubscribe) becomes one `RecipientEvent`, and `handle` takes
its effect. The event always carries the matched attempt: only that attempt's user
is affected. Deciding WHICH addresses an inbound message may touch is the caller's
job (services.inbound_processing); refusals are counted with `refuse`.
Every automatic suppression is audited with its source and evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.inbound.dsn import classify_smtp_reply
from sendwarden.inbound.model import BounceClass
from sendwarden.observability import metrics
from sendwarden.policy import InvalidAddress, address_key, normalize_email
from sendwarden.policy.bounces import SOFT_BOUNCE_WINDOW, BounceEffect, decide_bounce
from sendwarden.services import suppression as suppressions
from sendwarden.storage import audit
from sendwarden.storage.inbound import count_soft_bounced_messages
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

log = logging.getLogger("sendwarden.inbound")


class EventSource(StrEnum):
    DSN = "dsn"  # a delivery status notification that came back by mail
    SMTP = "smtp"  # a 5xx the SMTP server gave at send time
    COMPLAINT = "complaint"  # ARF / JMRP / SES complaint
    REPLY = "reply"  # a reply classified not_interested / unsubscribe_request
    UNSUBSCRIBE_CLICK = "unsubscribe_click"  # RFC 8058 one-click POST
    UNSUBSCRIBE_MAIL = "unsubscribe_mail"  # a mail to the List-Unsubscribe mailto target


_SUPPRESSION_SOURCE = {
    EventSource.DSN: SuppressionSource.BOUNCE,
    EventSource.SMTP: SuppressionSource.BOUNCE,
    EventSource.COMPLAINT: SuppressionSource.COMPLAINT,
    EventSource.REPLY: SuppressionSource.REPLY,
    EventSource.UNSUBSCRIBE_CLICK: SuppressionSource.UNSUBSCRIBE,
    EventSource.UNSUBSCRIBE_MAIL: SuppressionSource.UNSUBSCRIBE,
}


@dataclass(frozen=True)
class RecipientEvent:
    """One thing that happened to one recipient of one of our attempts."""

    source: EventSource
    attempt: Attempt  # the matched attempt; its user is the only one affected
    recipient: str  # the address the event is about (already checked by the caller)
    reason: str = ""  # why to suppress (complaint / reply / unsubscribe)
    bounce: BounceClass | None = None  # set for DSN and SMTP events
    status: str | None = None
    diagnostic: str | None = None
    inbound_message_id: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    # Lead status after a suppression; None leaves the lead as is (e.g. a writer who is
    # not the lead asked to be removed).
    lead_status: LeadStatus | None = LeadStatus.UNSUBSCRIBED


@dataclass(frozen=True)
class EventOutcome:
    effect: BounceEffect | str  # BounceEffect for bounces; "suppress" otherwise
    suppression: Suppression | None = None

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None


def refuse(reason: str, *, count: int = 1, **context: Any) -> None:
    """Effects an inbound message asked for and did not get (forged or unprovable)."""
    metrics.INBOUND_REFUSED.labels(reason).inc(count)
    log.warning("inbound effect refused: %s (%d) %s", reason, count, context)


async def suppress_recipient(
    session: AsyncSession,
    *,
    user_id: int,
    recipient: str,
    source: SuppressionSource,
    reason: str,
    attempt_id: int | None,
    evidence: Mapping[str, Any],
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


async def flag_lead_for_review(session: AsyncSession, lead_id: int | None, reason: str) -> None:
    """Visible in the API (`review_reason`): someone asked for removal without authority."""
    if lead_id is None:
        return
    lead = await session.get(Lead, lead_id)
    if lead is not None:
        lead.review_reason = reason[:2000]


async def handle(session: AsyncSession, event: RecipientEvent) -> EventOutcome:
    """Take the effect of one event (the single entry point for every source)."""
    if event.bounce is not None:
        return await _bounce(session, event)
    return await _suppress(session, event, event.reason, dict(event.evidence))


async def _suppress(
    session: AsyncSession, event: RecipientEvent, reason: str, evidence: dict[str, Any]
) -> EventOutcome:
    attempt = event.attempt
    row = await suppress_recipient(
        session,
        user_id=attempt.user_id,
        recipient=event.recipient,
        source=_SUPPRESSION_SOURCE[event.source],
        reason=reason,
        attempt_id=attempt.id,
        evidence={"via": event.source.value, **evidence},
    )
    if row is not None and event.lead_status is not None:
        await set_lead_status(session, attempt.lead_id, event.lead_status)
    return EventOutcome(BounceEffect.SUPPRESS, row)


async def _bounce(session: AsyncSession, event: RecipientEvent) -> EventOutcome:
    assert event.bounce is not None
    attempt, classification = event.attempt, event.bounce
    if classification == BounceClass.NOT_A_FAILURE:
        return EventOutcome(BounceEffect.NONE)
    evidence = {
        "status": event.status,
        "classification": classification.value,
        "inbound_message_id": event.inbound_message_id,
        "message_id": attempt.message_id,
        **event.evidence,
    }
    diagnostic = (event.diagnostic or "")[:2000] or None
    if classification == BounceClass.SENDER_BLOCK:
        decision = decide_bounce(classification.value, event.status)
        session.add(
            SenderIncident(
                user_id=attempt.user_id,
                attempt_id=attempt.id,
                sender_email=attempt.sender_email,
                recipient_domain=event.recipient.rpartition("@")[2].lower(),
                recipient=event.recipient,
                status=event.status,
                diagnostic=diagnostic,
                source=event.source.value,
                inbound_message_id=event.inbound_message_id,
                explanation=decision.explanation,
            )
        )
        metrics.SENDER_INCIDENTS.inc()
        await webhook_events.sender_incident(
            session, attempt.user_id, attempt, event.recipient, event.status, event.source.value
        )
        await audit.append(
            session,
            audit.AuditRecord(
                event="sender_incident",
                user_id=attempt.user_id,
                lead_email=event.recipient,
                sender_email=attempt.sender_email,
                reason=f"{decision.reason}; the recipient is not suppressed",
                attempt_id=attempt.id,
                details={"via": event.source.value, **evidence},
            ),
        )
        return EventOutcome(decision.effect)
    row = BounceEvent(
        user_id=attempt.user_id,
        attempt_id=attempt.id,
        recipient=event.recipient,
        classification=classification.value,
        status=event.status,
        diagnostic=diagnostic,
        source=event.source.value,
        inbound_message_id=event.inbound_message_id,
    )
    session.add(row)
    await session.flush()
    await webhook_events.bounce(
        session,
        attempt.user_id,
        attempt,
        event.recipient,
        classification.value,
        event.status,
        event.source.value,
    )
    soft = 0
    if classification == BounceClass.SOFT:
        soft = await count_soft_bounced_messages(
            session,
            user_id=attempt.user_id,
            recipient=event.recipient,
            since=utcnow() - SOFT_BOUNCE_WINDOW,
        )
    decision = decide_bounce(classification.value, event.status, soft)
    row.explanation = decision.explanation
    if decision.effect != BounceEffect.SUPPRESS:
        return EventOutcome(decision.effect)
    if soft:
        evidence["soft_bounces_in_window"] = soft
    bounced = RecipientEvent(
        source=event.source,
        attempt=attempt,
        recipient=event.recipient,
        lead_status=LeadStatus.BOUNCED if event.lead_status is not None else None,
    )
    return await _suppress(session, bounced, decision.reason, evidence)


async def record_send_time_rejection(
    session: AsyncSession, attempt: Attempt, error: DeliveryError
) -> None:
    """A 5xx at RCPT counts exactly like a returned bounce (product.md §6)."""
    classification = classify_smtp_reply(
        error.code or 550, error.enhanced_status, error.server_message
    )
    await handle(
        session,
        RecipientEvent(
            source=EventSource.SMTP,
            attempt=attempt,
            recipient=attempt.recipient_email,
            bounce=classification,
            status=error.enhanced_status or (str(error.code) if error.code else None),
            diagnostic=error.server_message,
        ),
    )
