"""Apply one parsed inbound message: match it to an attempt, decide whom it may affect,
and hand each effect to the one handler (services.inbound_effects.handle).

Forged mail must not harm others (product.md §6): the matched attempt's user is the
only one affected; a bounce or complaint touches only addresses that user sent to;
a message names at most MAX_RECIPIENTS_PER_MESSAGE recipients; a removal request
suppresses its writer, and the original recipient only when the writer speaks for
them (same mailbox or registrable domain) or carries our unsubscribe token.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.inbound.model import (
    SUPPRESSING_REPLY_CLASSES,
    BounceClass,
    InboundKind,
    ParsedInbound,
    ReplyClass,
)
from sendwarden.inbound.replies import classify_reply, normalize
from sendwarden.observability import metrics
from sendwarden.policy.addresses import valid_address
from sendwarden.policy.inbound_trust import (
    MAX_RECIPIENTS_PER_MESSAGE,
    same_mailbox,
)
from sendwarden.policy.unsubscribe_token import InvalidToken, verify_unsubscribe_token
from sendwarden.services.inbound_effects import (
    EventSource,
    RecipientEvent,
    handle,
    refuse,
)
from sendwarden.services.reply_effects import apply_removal
from sendwarden.storage import inbound
from sendwarden.storage.models import Attempt, Reply
from sendwarden.webhooks import emit as webhook_events

_REPLY_PREFIXES = re.compile(
    r"^\s*(?:(?:re|aw|sv|fw|fwd|wg|tr|rv|rif|antw)\s*(?:\[\d+\])?:\s*)+", re.I
)


@dataclass(frozen=True)
class Effect:
    kind: InboundKind
    attempt_id: int | None
    user_id: int | None
    suppressed: int = 0
    refused: int = 0


async def apply(
    session: AsyncSession, parsed: ParsedInbound, inbound_id: int, secret: bytes | None = None
) -> Effect:
    metrics.INBOUND.labels(parsed.kind.value).inc()
    if parsed.kind == InboundKind.BOUNCE:
        return await _bounces(session, parsed, inbound_id)
    if parsed.kind == InboundKind.COMPLAINT:
        return await _complaint(session, parsed, inbound_id)
    if parsed.kind in (InboundKind.REPLY, InboundKind.AUTO_REPLY, InboundKind.UNSUBSCRIBE):
        return await _reply(session, parsed, inbound_id, secret)
    return Effect(parsed.kind, None, None)


async def _bounces(session: AsyncSession, parsed: ParsedInbound, inbound_id: int) -> Effect:
    failures = [b for b in parsed.bounces if b.classification != BounceClass.NOT_A_FAILURE]
    refused = 0
    if len(failures) > MAX_RECIPIENTS_PER_MESSAGE:
        refused += len(failures) - MAX_RECIPIENTS_PER_MESSAGE
        refuse("too_many_recipients", count=refused, inbound_id=inbound_id, named=len(failures))
        failures = failures[:MAX_RECIPIENTS_PER_MESSAGE]
    anchor = await inbound.attempt_by_message_ids(session, [parsed.original_message_id])
    owner = anchor.user_id if anchor is not None else None
    matched: Attempt | None = anchor
    suppressed = 0
    for bounce in failures:
        if anchor is not None and same_mailbox(bounce.recipient, anchor.recipient_email):
            attempt: Attempt | None = anchor
        else:
            # Only the owner's own sends count: a report cannot reach into another user's list.
            attempt = await inbound.latest_attempt_to(session, bounce.recipient, user_id=owner)
        if attempt is None:
            refused += 1
            refuse("recipient_not_sent_to", inbound_id=inbound_id, recipient=bounce.recipient)
            continue
        owner = attempt.user_id
        matched = matched or attempt
        outcome = await handle(
            session,
            RecipientEvent(
                source=EventSource.DSN,
                attempt=attempt,
                recipient=bounce.recipient,
                bounce=bounce.classification,
                status=bounce.status,
                diagnostic=bounce.diagnostic,
                inbound_message_id=inbound_id,
            ),
        )
        suppressed += outcome.suppressed
    return Effect(
        parsed.kind,
        matched.id if matched else None,
        matched.user_id if matched else None,
        suppressed,
        refused,
    )


async def _complaint(session: AsyncSession, parsed: ParsedInbound, inbound_id: int) -> Effect:
    named = valid_address(parsed.complaint_recipient)  # None when absent or redacted
    anchor = await inbound.attempt_by_message_ids(session, [parsed.original_message_id])
    if anchor is None and named is not None:
        anchor = await inbound.latest_attempt_to(session, named)
    if anchor is None:
        return Effect(parsed.kind, None, None)
    target, recipient, refused = anchor, anchor.recipient_email, 0
    if named is not None and not same_mailbox(named, anchor.recipient_email):
        other = await inbound.latest_attempt_to(session, named, user_id=anchor.user_id)
        if other is not None:
            target, recipient = other, named
        else:
            # Never sent to (forged, or an ISP's redacted stand-in): that address is not
            # touched. The report is still about our message, so its recipient is.
            refused = 1
            refuse("complainer_not_a_recipient", inbound_id=inbound_id, named=named)
    await webhook_events.complaint(session, target, recipient)
    outcome = await handle(
        session,
        RecipientEvent(
            source=EventSource.COMPLAINT,
            attempt=target,
            recipient=recipient,
            reason="Spam complaint (feedback report)",
            inbound_message_id=inbound_id,
            evidence={
                "inbound_message_id": inbound_id,
                "inbound_message_id_header": parsed.message_id,
                "named_complainer": parsed.complaint_recipient,
            },
        ),
    )
    return Effect(parsed.kind, target.id, target.user_id, int(outcome.suppressed), refused)


async def _token_attempt(
    session: AsyncSession, parsed: ParsedInbound, secret: bytes | None
) -> Attempt | None:
    if parsed.unsubscribe_token is None or not secret:
        return None
    try:
        claim = verify_unsubscribe_token(secret, parsed.unsubscribe_token, now=int(time.time()))
    except InvalidToken:
        refuse("invalid_unsubscribe_token", sender=parsed.from_address)
        return None
    attempt = await session.get(Attempt, claim.attempt_id)
    if attempt is None or attempt.user_id != claim.user_id:
        refuse("unsubscribe_token_attempt_gone", attempt_id=claim.attempt_id)
        return None
    return attempt


def _subject_class(subject: str | None, our_subject: str) -> ReplyClass | None:
    """The reply's subject counts as its text, minus our own subject it repeats."""
    own = _REPLY_PREFIXES.sub("", subject or "")
    ours = normalize(our_subject)
    own_norm = normalize(own)
    if ours and ours in own_norm:
        own_norm = own_norm.replace(ours, " ")
    if not own_norm.strip():
        return None
    return classify_reply(own_norm)


async def _reply(
    session: AsyncSession, parsed: ParsedInbound, inbound_id: int, secret: bytes | None
) -> Effect:
    token_attempt = await _token_attempt(session, parsed, secret)
    attempt = token_attempt or await inbound.attempt_by_message_ids(
        session, [parsed.in_reply_to, *reversed(parsed.references)]
    )
    if attempt is None and parsed.from_address:
        attempt = await inbound.latest_attempt_to(session, parsed.from_address)
    if attempt is None:
        return Effect(parsed.kind, None, None)
    classification = parsed.reply_class or ReplyClass.REPLIED
    if parsed.kind == InboundKind.AUTO_REPLY:
        classification = ReplyClass.OUT_OF_OFFICE
    elif parsed.kind == InboundKind.UNSUBSCRIBE:
        classification = ReplyClass.UNSUBSCRIBE_REQUEST
    elif classification not in SUPPRESSING_REPLY_CLASSES:
        from_subject = _subject_class(parsed.subject, attempt.subject)
        if from_subject in SUPPRESSING_REPLY_CLASSES:
            classification = from_subject
    reply = Reply(
        user_id=attempt.user_id,
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        lead_id=attempt.lead_id,
        inbound_message_id=inbound_id,
        from_address=parsed.from_address,
        subject=parsed.subject,
        text=(parsed.reply_text or "")[:20_000],
        original_text=(parsed.reply_original or "")[:50_000] or None,
        classification=classification.value,
        auto_classification=classification.value,
    )
    session.add(reply)
    await session.flush()
    await webhook_events.reply(session, reply, attempt)
    source = EventSource.UNSUBSCRIBE_MAIL if parsed.kind == InboundKind.UNSUBSCRIBE else None
    suppressed, refused = await apply_removal(
        session,
        reply,
        attempt,
        classification,
        writer=parsed.from_address,
        authorised=token_attempt is not None,
        source=source or EventSource.REPLY,
    )
    return Effect(parsed.kind, attempt.id, attempt.user_id, suppressed, refused)
