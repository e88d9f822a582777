"""Operator corrections of reply classifications."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES, ReplyClass
from sendwarden.services.reply_effects import apply_reply_class
from sendwarden.storage import audit
from sendwarden.storage.models import Attempt, Lead, LeadStatus, Reply, Suppression
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import emit as webhook_events


async def reclassify(
    session: AsyncSession, reply: Reply, new_class: ReplyClass, *, actor_id: int
) -> None:
    old_class = ReplyClass(reply.classification)
    if new_class == old_class:
        return
    attempt = await session.get(Attempt, reply.attempt_id) if reply.attempt_id else None
    lifted = None
    if old_class in SUPPRESSING_REPLY_CLASSES and new_class not in SUPPRESSING_REPLY_CLASSES:
        if reply.suppression_id is not None:
            suppression = await session.get(Suppression, reply.suppression_id)
            if suppression is not None and suppression.source == "reply":
                lifted = suppression.value
                await webhook_events.suppression(session, "suppression.removed", suppression, None)
                await session.execute(delete(Suppression).where(Suppression.id == suppression.id))
        reply.suppression_id = None
        if attempt is not None and attempt.lead_id is not None:
            lead = await session.get(Lead, attempt.lead_id)
            if lead is not None and lead.status == LeadStatus.UNSUBSCRIBED.value:
                await webhook_events.lead_status(session, lead, LeadStatus.REPLIED.value)
                lead.status = LeadStatus.REPLIED.value
    reply.classification = new_class.value
    reply.reclassified_at = utcnow()
    if attempt is not None:
        await apply_reply_class(session, reply, attempt, new_class)
    await audit.append(
        session,
        audit.AuditRecord(
            event="reply_reclassified",
            user_id=reply.user_id,
            lead_email=attempt.recipient_email if attempt is not None else reply.from_address,
            attempt_id=reply.attempt_id,
            reason=f"Reply {reply.id} reclassified from {old_class.value} to {new_class.value}",
            details={"reply_id": reply.id, "actor_id": actor_id, "lifted_suppression": lifted},
        ),
    )
