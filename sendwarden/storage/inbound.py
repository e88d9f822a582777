"""Storage for the IMAP poller: cursors, received messages, replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage import attempts
from sendwarden.storage.models import (
    Attempt,
    AttemptStatus,
    BounceEvent,
    InboundMessage,
    MailboxCursor,
    Reply,
)
from sendwarden.storage.pagination import page
from sendwarden.storage.types import utcnow


async def get_cursor(session: AsyncSession, mailbox: str) -> MailboxCursor | None:
    return await session.get(MailboxCursor, mailbox)


async def advance_cursor(
    session: AsyncSession, mailbox: str, uidvalidity: int, last_uid: int
) -> None:
    """Move the cursor forward (never back within one UIDVALIDITY)."""
    row = await session.get(MailboxCursor, mailbox, with_for_update=True)
    if row is None:
        session.add(
            MailboxCursor(
                mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid, last_poll_at=utcnow()
            )
        )
        return
    if row.uidvalidity != uidvalidity or last_uid > row.last_uid:
        row.uidvalidity = uidvalidity
        row.last_uid = last_uid
    row.last_poll_at = utcnow()


async def touch_cursor(session: AsyncSession, mailbox: str) -> None:
    await session.execute(
        update(MailboxCursor).where(MailboxCursor.mailbox == mailbox).values(last_poll_at=utcnow())
    )


async def claim_message(session: AsyncSession, row: InboundMessage) -> bool:
    """Record a received message once; False if its Message-ID or UID was seen before."""
    if row.message_id is not None:
        seen = await session.scalar(
            select(func.count(InboundMessage.id)).where(InboundMessage.message_id == row.message_id)
        )
        if seen:
            return False
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


async def list_replies(
    session: AsyncSession, *, user_id: int, campaign_id: int, limit: int, offset: int
) -> tuple[list[Reply], int]:
    conditions = [Reply.user_id == user_id, Reply.campaign_id == campaign_id]
    return await page(
        session, Reply, conditions, order_by=Reply.id.desc(), limit=limit, offset=offset
    )


async def get_reply(session: AsyncSession, *, user_id: int, reply_id: int) -> Reply | None:
    return await session.scalar(select(Reply).where(Reply.id == reply_id, Reply.user_id == user_id))


async def count_soft_bounced_messages(
    session: AsyncSession, *, user_id: int, recipient: str, since: datetime
) -> int:
    """Soft bounces of one recipient since a moment, one per returned MESSAGE.

    A delay notice and the final expiry bounce of the same message are one soft bounce, not
    two. The message is the attempt the bounce was matched to by its original Message-ID
    (the dedupe key is original Message-ID + recipient + soft; the recipient is fixed here).
    Events matched to no attempt count one each.
    """
    per_message = func.coalesce(BounceEvent.attempt_id, -BounceEvent.id)
    count = await session.scalar(
        select(func.count(func.distinct(per_message))).where(
            BounceEvent.user_id == user_id,
            func.lower(BounceEvent.recipient) == recipient.lower(),
            BounceEvent.classification == "soft",
            BounceEvent.created_at >= since,
        )
    )
    return int(count or 0)


async def attempt_by_message_ids(
    session: AsyncSession, message_ids: Sequence[str | None]
) -> Attempt | None:
    """The attempt one of these Message-IDs (ours, in order of preference) belongs to."""
    for message_id in message_ids:
        if message_id:
            found = await attempts.by_message_id(session, message_id)
            if found is not None:
                return found
    return None


async def latest_attempt_to(
    session: AsyncSession, address: str, *, user_id: int | None = None
) -> Attempt | None:
    """The latest attempt that actually went to `address` (of `user_id` when given)."""
    query = select(Attempt).where(
        func.lower(Attempt.recipient_email) == address.strip().lower(),
        Attempt.status.in_([AttemptStatus.SENT.value, AttemptStatus.UNKNOWN.value]),
    )
    if user_id is not None:
        query = query.where(Attempt.user_id == user_id)
    return await session.scalar(query.order_by(Attempt.id.desc()).limit(1))
