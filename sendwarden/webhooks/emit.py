"""Emitters called at the points where each change is made, inside its transaction.

Each checks `outbox.subscribed_users` first, so that for a user without an
endpoint an emit costs a set lookup and builds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import (
    Attempt,
    AttemptStatus,
    Lead,
    LeadStatus,
    Reply,
    Suppression,
)
from sendwarden.webhooks.outbox import NewEvent, emit, emit_many, subscribed_users

UNBUILT = "The message could not be built; nothing was sent"


class Decided(Protocol):
    """What the send pipeline's decision batch holds per request (services.send._Prepared)."""

    @property
    def attempt(self) -> Attempt: ...
    @property
    def reserved(self) -> bool: ...
    @property
    def rule(self) -> str: ...


def attempt_data(
    attempt: Attempt, status: str, *, reason: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    return {
        "attempt_id": attempt.id,
        "campaign_id": attempt.campaign_id,
        "lead_id": attempt.lead_id,
        "status": status,
        "recipient_email": attempt.recipient_email,
        "sender_email": attempt.sender_email,
        "subject": attempt.subject,
        "reason": reason if reason is not None else attempt.reason,
        "message_id": attempt.message_id if status != AttemptStatus.BLOCKED.value else None,
        "rule": rule,
    }


def _attempt_event(attempt: Attempt, status: str, **extra: Any) -> NewEvent:
    return NewEvent(
        attempt.user_id,
        f"attempt.{status}",
        attempt_data(attempt, status, **extra),
        attempt.lead_id,
    )


async def decided(session: AsyncSession, batch: Iterable[Decided | BaseException]) -> None:
    """attempt.blocked for every request of a decision batch that policy refused."""
    users = await subscribed_users(session)
    if not users:
        return
    await emit_many(
        session,
        [
            _attempt_event(d.attempt, AttemptStatus.BLOCKED.value, rule=d.rule or None)
            for d in batch
            if not isinstance(d, BaseException) and not d.reserved and d.attempt.user_id in users
        ],
    )


async def delivered(session: AsyncSession, attempts: Sequence[Attempt], *, reason: str) -> None:
    """attempt.sent, and lead.status_changed for leads this makes `contacted`.

    Called before the leads are updated, in the same transaction.
    """
    users = await subscribed_users(session)
    mine = [a for a in attempts if a.user_id in users]
    if not mine:
        return
    lead_ids = sorted({a.lead_id for a in mine if a.lead_id is not None})
    discovered: dict[int, int] = {}
    if lead_ids:
        rows = await session.execute(
            select(Lead.id, Lead.campaign_id).where(
                Lead.id.in_(lead_ids), Lead.status == LeadStatus.DISCOVERED.value
            )
        )
        discovered = {int(lead_id): int(campaign_id) for lead_id, campaign_id in rows.all()}
    events = []
    for attempt in mine:
        events.append(_attempt_event(attempt, AttemptStatus.SENT.value, reason=reason))
        campaign_id = discovered.pop(attempt.lead_id, None) if attempt.lead_id else None
        if campaign_id is not None and attempt.lead_id is not None:
            data = _lead_data(
                attempt.lead_id, campaign_id, LeadStatus.CONTACTED.value, "discovered"
            )
            events.append(NewEvent(attempt.user_id, "lead.status_changed", data, attempt.lead_id))
    await emit_many(session, events)


async def attempt_changed(
    session: AsyncSession, attempt: Attempt, status: str, *, reason: str | None = None
) -> None:
    """attempt.failed / attempt.unknown / attempt.sent for one attempt (cold paths)."""
    if attempt.user_id in await subscribed_users(session):
        await emit_many(session, [_attempt_event(attempt, status, reason=reason)])


async def attempts_unknown(session: AsyncSession, attempt_ids: Sequence[int]) -> None:
    """attempt.unknown for sends a crash interrupted (start-up recovery)."""
    if not attempt_ids:
        return
    users = await subscribed_users(session)
    if not users:
        return
    rows = await session.scalars(select(Attempt).where(Attempt.id.in_(attempt_ids)))
    await emit_many(
        session,
        [_attempt_event(a, AttemptStatus.UNKNOWN.value) for a in rows if a.user_id in users],
    )


def _lead_data(lead_id: int, campaign_id: int, status: str, previous: str) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "status": status,
        "previous_status": previous,
    }


async def lead_status(session: AsyncSession, lead: Lead, new_status: str) -> None:
    """lead.status_changed; call before assigning the new status."""
    if lead.status == new_status:
        return
    data = _lead_data(lead.id, lead.campaign_id, new_status, lead.status)
    await emit(session, "lead.status_changed", data, user_id=lead.user_id, lead_id=lead.id)


async def suppression(
    session: AsyncSession, type_: str, row: Suppression, actor_id: int | None
) -> None:
    """suppression.added / .removed, to the owner (the acting admin for a global entry)."""
    user_id = row.user_id if row.user_id is not None else actor_id
    if user_id is None:
        return
    data = {
        "kind": row.kind,
        "value": row.value,
        "scope": _scope(row.user_id),
        "source": row.source,
        "reason": row.reason,
        "attempt_id": row.attempt_id,
    }
    await emit(session, type_, data, user_id=user_id)


async def suppressions_imported(
    session: AsyncSession,
    *,
    owner_id: int | None,
    actor_id: int,
    summary: dict[str, Any],
) -> None:
    """suppression.imported, once per import, to the owner (the acting admin for a global
    list). Not a suppression.added per entry: a million-row import would be a million
    deliveries, and while the dispatcher worked through them the server answered slowly."""
    user_id = owner_id if owner_id is not None else actor_id
    data = {"scope": _scope(owner_id), **summary}
    await emit(session, "suppression.imported", data, user_id=user_id)


def _scope(owner_id: int | None) -> str:
    return "global" if owner_id is None else "user"


async def bounce(
    session: AsyncSession,
    user_id: int,
    attempt: Attempt | None,
    recipient: str,
    classification: str,
    status: str | None,
    source: str,
) -> None:
    """bounce.hard / bounce.soft (classification is inbound.model.BounceClass)."""
    data = {
        "attempt_id": attempt.id if attempt is not None else None,
        "lead_id": attempt.lead_id if attempt is not None else None,
        "recipient": recipient,
        "status": status,
        "source": source,
    }
    lead_id = attempt.lead_id if attempt is not None else None
    type_ = "bounce.hard" if classification == "hard" else "bounce.soft"
    await emit(session, type_, data, user_id=user_id, lead_id=lead_id)


async def sender_incident(
    session: AsyncSession,
    user_id: int,
    attempt: Attempt | None,
    recipient: str,
    status: str | None,
    source: str,
) -> None:
    data = {
        "attempt_id": attempt.id if attempt is not None else None,
        "sender_email": attempt.sender_email if attempt is not None else None,
        "recipient_domain": recipient.rpartition("@")[2].lower(),
        "status": status,
        "source": source,
    }
    await emit(session, "sender.incident", data, user_id=user_id)


async def complaint(session: AsyncSession, attempt: Attempt, recipient: str) -> None:
    data = {"attempt_id": attempt.id, "lead_id": attempt.lead_id, "recipient": recipient}
    await emit(session, "complaint", data, user_id=attempt.user_id, lead_id=attempt.lead_id)


async def reply(session: AsyncSession, reply: Reply, attempt: Attempt) -> None:
    data = {
        "reply_id": reply.id,
        "attempt_id": attempt.id,
        "campaign_id": reply.campaign_id,
        "lead_id": reply.lead_id,
        "from_address": reply.from_address,
        "subject": reply.subject,
        "class": reply.classification,
        "text": reply.text,
    }
    await emit(session, "reply.received", data, user_id=reply.user_id, lead_id=reply.lead_id)
