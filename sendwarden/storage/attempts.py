"""Outreach attempts: one row per send request that reached the policy check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import dialect_name, table_of
from sendwarden.storage.models import Attempt, AttemptStatus, Lead, LeadStatus
from sendwarden.storage.pagination import page
from sendwarden.storage.types import utcnow

_ATTEMPTS = table_of(Attempt)
_LEADS = table_of(Lead)
# Built once: every send runs them (see storage.daily_caps).
# One multi-row INSERT ... RETURNING per batch, ids in the order of the rows.
_INSERT = insert(_ATTEMPTS).returning(_ATTEMPTS.c.id, sort_by_parameter_order=True)
# SQLite does not promise RETURNING order, so SQLAlchemy would run the ordered form
# one row at a time. Unordered is one statement, and the ids of one statement's rows
# ascend in row order (each new rowid is the largest plus one, under the write lock
# taken at BEGIN IMMEDIATE): sorting them restores the order.
_INSERT_SQLITE = insert(_ATTEMPTS).returning(_ATTEMPTS.c.id)
_MARK_SENT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(
        status=AttemptStatus.SENT.value,
        sent_at=bindparam("now"),
        reason=bindparam("reason"),
        updated_at=bindparam("now"),
    )
)
_MARK_CONTACTED = (
    update(_LEADS)
    .where(_LEADS.c.id == bindparam("lead_id"), _LEADS.c.status == LeadStatus.DISCOVERED.value)
    .values(status=LeadStatus.CONTACTED.value, updated_at=bindparam("now"))
)


async def insert_attempts(session: AsyncSession, values: Sequence[dict[str, Any]]) -> list[Attempt]:
    """Insert attempts with one statement; returns detached copies holding their new ids."""
    if not values:
        return []
    now = utcnow()
    rows = [{"created_at": now, "updated_at": now, **v} for v in values]
    if dialect_name(session) == "sqlite":
        ids = sorted((await session.execute(_INSERT_SQLITE, rows)).scalars().all())
    else:
        ids = list((await session.execute(_INSERT, rows)).scalars().all())
    return [Attempt(id=attempt_id, **row) for attempt_id, row in zip(ids, rows, strict=True)]


_MARK_BLOCKED = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(
        status=AttemptStatus.BLOCKED.value,
        reason=bindparam("reason"),
        checks=bindparam("checks"),
        message_id=None,
        updated_at=bindparam("now"),
    )
)


async def mark_blocked(session: AsyncSession, *, attempt_id: int, reason: str, checks: str) -> None:
    """A `sending` attempt whose reservation was refused: blocked after all, nothing sent."""
    params = {"attempt_id": attempt_id, "reason": reason, "checks": checks, "now": utcnow()}
    await session.execute(_MARK_BLOCKED, params)


async def mark_delivered(
    session: AsyncSession, attempts: Sequence[Attempt], *, reason: str, now: datetime
) -> None:
    """Attempts accepted by SMTP become `sent`, their leads `contacted` (two statements)."""
    await session.execute(
        _MARK_SENT, [{"attempt_id": a.id, "now": now, "reason": reason} for a in attempts]
    )
    leads = [{"lead_id": a.lead_id, "now": now} for a in attempts if a.lead_id is not None]
    if leads:
        await session.execute(_MARK_CONTACTED, leads)


async def get_attempt(session: AsyncSession, *, user_id: int, attempt_id: int) -> Attempt | None:
    return await session.scalar(
        select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == user_id)
    )


async def list_attempts(
    session: AsyncSession,
    *,
    user_id: int,
    campaign_id: int | None = None,
    status: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Attempt], int]:
    """The user's attempts, newest first, optionally of one campaign and/or in one state."""
    conditions = [Attempt.user_id == user_id]
    if campaign_id is not None:
        conditions.append(Attempt.campaign_id == campaign_id)
    if status is not None:
        conditions.append(Attempt.status == status)
    return await page(
        session, Attempt, conditions, order_by=Attempt.id.desc(), limit=limit, offset=offset
    )


async def mark_interrupted_as_unknown(
    session: AsyncSession, *, owner: str | Sequence[str]
) -> list[int]:
    """Crash recovery: attempts the given owner(s) left `sending` become `unknown`.

    Owners are a host's name (start-up recovery) or the lease ids of dead
    processes (the lease sweep), so a process never relabels the in-flight sends
    of one that is still running.
    """
    owners = [owner] if isinstance(owner, str) else list(owner)
    if not owners:
        return []
    ids = list(
        (
            await session.scalars(
                select(Attempt.id).where(
                    Attempt.status == AttemptStatus.SENDING.value, Attempt.owner.in_(owners)
                )
            )
        ).all()
    )
    if ids:
        await session.execute(
            update(Attempt)
            .where(Attempt.id.in_(ids), Attempt.status == AttemptStatus.SENDING.value)
            .values(
                status=AttemptStatus.UNKNOWN.value,
                reason="Interrupted while sending: the "
                "process stopped before SMTP answered; delivery is unknown",
                updated_at=utcnow(),
            )
        )
    return ids


async def sending_owners(session: AsyncSession) -> set[str]:
    """Owners (host names, lease ids) of attempts in flight: a small set."""
    rows = await session.scalars(
        select(Attempt.owner).where(Attempt.status == AttemptStatus.SENDING.value).distinct()
    )
    return {owner for owner in rows.all() if owner is not None}


async def latest_to_address(
    session: AsyncSession, recipient: str, *, before: datetime | None = None
) -> Attempt | None:
    query = select(Attempt).where(
        func.lower(Attempt.recipient_email) == recipient.lower(),
        Attempt.status.in_([AttemptStatus.SENT.value, AttemptStatus.UNKNOWN.value]),
    )
    if before is not None:
        query = query.where(Attempt.created_at <= before)
    return await session.scalar(query.order_by(Attempt.id.desc()).limit(1))


async def by_message_id(session: AsyncSession, message_id: str) -> Attempt | None:
    return await session.scalar(select(Attempt).where(Attempt.message_id == message_id).limit(1))
