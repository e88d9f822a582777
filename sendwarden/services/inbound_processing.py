"""Apply one parsed inbound message: match it to an attempt, then take its effects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.inbound.model import (
    SUPPRESSING_REPLY_CLASSES,
    InboundKind,
    ParsedInbound,
    ReplyClass,
)
from sendwarden.observability import metrics
from sendwarden.services.inbound_effects import record_bounce, set_lead_status, suppress_recipient
from sendwarden.storage import attempts
from sendwarden.storage.models import Attempt, LeadStatus, Reply, SuppressionSource
from sendwarden.webhooks import emit as webhook_events


@dataclass(frozen=True)
class Effect:
    kind: InboundKind
    attempt_id: int | None
    user_id: int | None
    suppressed: int = 0


async def _attempt_for(
    session: AsyncSession, message_ids: list[str | None], address: str | None
) -> Attempt | None:
    for message_id in message_ids:
        if message_id:
            found = await attempts.by_message_id(session, message_id)
            if found is not None:
                return found
    if address:
        return await attempts.latest_to_address(session, address)
    return None


async def apply(session: AsyncSession, parsed: ParsedInbound, inbound_id: int) -> Effect:
    metrics.INBOUND.labels(parsed.kind.value).inc()
    evidence = {"inbound_message_id": inbound_id, "inbound_message_id_header": parsed.message_id}
    if parsed.kind == InboundKind.BOUNCE:
        return await _bounces(session, parsed, inbound_id)
    if parsed.kind == InboundKind.COMPLAINT:
        attempt = await _attempt_for(
            session, [parsed.original_message_id], parsed.complaint_recipient
        )
        if attempt is None:
            return Effect(parsed.kind, None, None)
        await suppress_recipient(
            session,
            user_id=attempt.user_id,
            recipient=parsed.complaint_recipient or attempt.recipient_email,
            source=SuppressionSource.COMPLAINT,
            reason="Spam complaint (feedback report)",
            attempt_id=attempt.id,
            evidence=evidence,
        )
        await webhook_events.complaint(
            session, attempt, parsed.complaint_recipient or attempt.recipient_email
        )
        await set_lead_status(session, attempt.lead_id, LeadStatus.UNSUBSCRIBED)
        return Effect(parsed.kind, attempt.id, attempt.user_id, 1)
    if parsed.kind in (InboundKind.REPLY, InboundKind.AUTO_REPLY):
        return await _reply(session, parsed, inbound_id)
    return Effect(parsed.kind, None, None)


async def _bounces(session: AsyncSession, parsed: ParsedInbound, inbound_id: int) -> Effect:
    matched: Attempt | None = None
    suppressed = 0
    for bounce in parsed.bounces:
        attempt = await _attempt_for(session, [parsed.original_message_id], bounce.recipient)
        if (
            attempt is not None
            and parsed.original_message_id
            and (attempt.recipient_email.lower() != bounce.recipient.lower())
        ):
            # A multi-recipient report: this recipient's own attempt, if any.
            attempt = await attempts.latest_to_address(session, bounce.recipient) or attempt
        if attempt is None:
            continue
        matched = matched or attempt
        suppressed += await record_bounce(
            session,
            user_id=attempt.user_id,
            attempt=attempt,
            recipient=bounce.recipient,
            classification=bounce.classification,
            status=bounce.status,
            diagnostic=bounce.diagnostic,
            source="dsn",
            inbound_message_id=inbound_id,
        )
    return Effect(
        parsed.kind,
        matched.id if matched else None,
        matched.user_id if matched else None,
        suppressed,
    )


async def _reply(session: AsyncSession, parsed: ParsedInbound, inbound_id: int) -> Effect:
    attempt = await _attempt_for(
        session, [parsed.in_reply_to, *reversed(parsed.references)], parsed.from_address
    )
    if attempt is None:
        return Effect(parsed.kind, None, None)
    classification = parsed.reply_class or ReplyClass.REPLIED
    if parsed.kind == InboundKind.AUTO_REPLY:
        classification = ReplyClass.OUT_OF_OFFICE
    reply = Reply(
        user_id=attempt.user_id,
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        lead_id=attempt.lead_id,
        inbound_message_id=inbound_id,
        from_address=parsed.from_address,
        subject=parsed.subject,
        text=(parsed.reply_text or "")[:20_000],
        classification=classification.value,
        auto_classification=classification.value,
    )
    session.add(reply)
    await session.flush()
    await webhook_events.reply(session, reply, attempt)
    suppressed = await apply_reply_class(session, reply, attempt, classification)
    return Effect(parsed.kind, attempt.id, attempt.user_id, suppressed)


async def apply_reply_class(
    session: AsyncSession, reply: Reply, attempt: Attempt, classification: ReplyClass
) -> int:
    """Effects of a reply class on the suppression list and the lead (also on reclassify)."""
    if classification in SUPPRESSING_REPLY_CLASSES:
        row = await suppress_recipient(
            session,
            user_id=attempt.user_id,
            recipient=attempt.recipient_email,
            source=SuppressionSource.REPLY,
            reason=f"Reply classified {classification.value}",
            attempt_id=attempt.id,
            evidence={"reply_id": reply.id, "inbound_message_id": reply.inbound_message_id},
        )
        reply.suppression_id = row.id if row is not None else None
        await set_lead_status(session, attempt.lead_id, LeadStatus.UNSUBSCRIBED)
        return 1
    if classification in (ReplyClass.INTERESTED, ReplyClass.REPLIED):
        await set_lead_status(session, attempt.lead_id, LeadStatus.REPLIED)
    return 0
