"""Operators settle attempts whose delivery outcome is unknown (crash or timeout mid-send)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.services.errors import Conflict, NotFound
from sendwarden.storage import attempts, audit, duplicate_keys
from sendwarden.storage.models import Attempt, AttemptStatus, Lead, LeadStatus
from sendwarden.storage.types import utcnow
from sendwarden.webhooks import emit as webhook_events

Resolution = Literal["sent", "failed"]


async def resolve_unknown(
    session: AsyncSession, *, user_id: int, attempt_id: int, outcome: Resolution, note: str | None
) -> Attempt:
    """`sent` keeps the duplicate key as used; `failed` releases it so a retry may go out."""
    attempt = await attempts.get_attempt(session, user_id=user_id, attempt_id=attempt_id)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} not found")
    if attempt.status != AttemptStatus.UNKNOWN.value:
        raise Conflict(f"attempt {attempt_id} is {attempt.status}; only unknown attempts resolve")
    if outcome == "sent":
        attempt.status = AttemptStatus.SENT.value
        attempt.sent_at = attempt.sent_at or utcnow()
        await duplicate_keys.mark_used(session, attempt_ids=[attempt.id])
        if attempt.lead_id is not None:
            lead = await session.get(Lead, attempt.lead_id)
            if lead is not None and lead.status == LeadStatus.DISCOVERED.value:
                await webhook_events.lead_status(session, lead, LeadStatus.CONTACTED.value)
                lead.status = LeadStatus.CONTACTED.value
    else:
        attempt.status = AttemptStatus.FAILED.value
        await duplicate_keys.release(session, attempt_id=attempt.id)
    attempt.reason = f"Resolved by an operator as {outcome}" + (f": {note}" if note else "")
    await webhook_events.attempt_changed(session, attempt, attempt.status)
    await audit.append(
        session,
        audit.AuditRecord(
            event="attempt_resolved",
            user_id=user_id,
            lead_email=attempt.recipient_email,
            sender_email=attempt.sender_email,
            subject=attempt.subject,
            attempt_id=attempt.id,
            reason=attempt.reason,
            details={"outcome": outcome},
        ),
    )
    return attempt
