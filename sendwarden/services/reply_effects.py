"""What a reply's class does: a removal request suppresses its writer, and the original
recipient only when the writer speaks for them (same mailbox or registrable domain) or
the reply carries our unsubscribe token; other replies mark the lead `replied`.

Used for classified inbound replies (services.inbound_processing) and for classes an
operator sets by hand (services.replies.reclassify).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES, ReplyClass
from sendwarden.policy.addresses import valid_address
from sendwarden.policy.inbound_trust import same_mailbox, writer_speaks_for
from sendwarden.services.inbound_effects import (
    EventSource,
    RecipientEvent,
    flag_lead_for_review,
    handle,
    refuse,
    set_lead_status,
)
from sendwarden.storage.models import Attempt, LeadStatus, Reply


async def apply_reply_class(
    session: AsyncSession, reply: Reply, attempt: Attempt, classification: ReplyClass
) -> int:
    """Effects of a reply class set by the operator (reclassify): the operator is trusted."""
    suppressed, _ = await apply_removal(
        session, reply, attempt, classification, writer=None, authorised=True
    )
    return suppressed


async def apply_removal(
    session: AsyncSession,
    reply: Reply,
    attempt: Attempt,
    classification: ReplyClass,
    *,
    writer: str | None,
    authorised: bool,
    source: EventSource = EventSource.REPLY,
) -> tuple[int, int]:
    """(suppressed, refused) for a reply of this class written by `writer`."""
    if classification not in SUPPRESSING_REPLY_CLASSES:
        if classification in (ReplyClass.INTERESTED, ReplyClass.REPLIED):
            await set_lead_status(session, attempt.lead_id, LeadStatus.REPLIED)
        return 0, 0
    reason = (
        "Unsubscribe request mailed to the List-Unsubscribe address"
        if source == EventSource.UNSUBSCRIBE_MAIL
        else f"Reply classified {classification.value}"
    )
    evidence = {
        "reply_id": reply.id,
        "inbound_message_id": reply.inbound_message_id,
        "writer": writer,
        "token_verified": authorised and writer is not None,
    }
    suppressed = refused = 0
    if authorised or writer_speaks_for(writer, attempt.recipient_email):
        outcome = await handle(
            session,
            RecipientEvent(
                source=source,
                attempt=attempt,
                recipient=attempt.recipient_email,
                reason=reason,
                inbound_message_id=reply.inbound_message_id,
                evidence=evidence,
            ),
        )
        reply.suppression_id = outcome.suppression.id if outcome.suppression else None
        suppressed += int(outcome.suppressed)
    else:
        refused += 1
        refuse("writer_not_recipient", reply_id=reply.id, writer=writer)
        await flag_lead_for_review(
            session,
            attempt.lead_id,
            f"{writer} asked for removal ({classification.value}) in reply to a message to"
            " this lead; the lead was not suppressed because the writer is not its address"
            " or domain",
        )
    if writer and valid_address(writer) and not same_mailbox(writer, attempt.recipient_email):
        outcome = await handle(  # the writer asked for their own removal
            session,
            RecipientEvent(
                source=source,
                attempt=attempt,
                recipient=writer,
                reason=f"{reason} (the writer's own address)",
                inbound_message_id=reply.inbound_message_id,
                evidence=evidence,
                lead_status=None,
            ),
        )
        if reply.suppression_id is None and outcome.suppression is not None:
            reply.suppression_id = outcome.suppression.id
        suppressed += int(outcome.suppressed)
    return suppressed, refused
