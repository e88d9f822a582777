"""Read-only queries the dashboard needs and the storage layer has no function for yet.

`scope` is a user id, or None for an admin (every user). Candidates to move next to
the storage modules (bounces and sender incidents have their own listing API coming).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import (
    Attempt,
    AttemptStatus,
    AuditEntry,
    AuditHead,
    BounceEvent,
    Campaign,
    DailyCounter,
    Lead,
    Reply,
    SenderIncident,
    Suppression,
    User,
)
from sendwarden.storage.pagination import page_of

Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


def _owned(query: Q, column: Any, scope: int | None) -> Q:
    return query if scope is None else query.where(column == scope)


async def _page(
    session: AsyncSession, query: Select[Any], order: Any, limit: int, offset: int
) -> tuple[list[Any], int]:
    return await page_of(session, query, order_by=order, limit=limit, offset=offset)


async def user_names(session: AsyncSession) -> dict[int, str]:
    return {u.id: u.name for u in (await session.scalars(select(User))).all()}


@dataclass(frozen=True)
class AttemptFilter:
    status: str | None = None
    campaign_id: int | None = None
    recipient: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_attempts(
    session: AsyncSession, scope: int | None, f: AttemptFilter, *, limit: int, offset: int
) -> tuple[list[Attempt], int]:
    query = _owned(select(Attempt), Attempt.user_id, scope)
    if f.status:
        query = query.where(Attempt.status == f.status)
    if f.campaign_id is not None:
        query = query.where(Attempt.campaign_id == f.campaign_id)
    if f.recipient:
        query = query.where(func.lower(Attempt.recipient_email).contains(f.recipient.lower()))
    if f.since is not None:
        query = query.where(Attempt.created_at >= f.since)
    if f.until is not None:
        query = query.where(Attempt.created_at < f.until)
    return await _page(session, query, Attempt.id.desc(), limit, offset)


async def get_attempt(session: AsyncSession, scope: int | None, attempt_id: int) -> Attempt | None:
    query = _owned(select(Attempt).where(Attempt.id == attempt_id), Attempt.user_id, scope)
    found: Attempt | None = await session.scalar(query)
    return found


def first_failed_rule(attempt: Attempt) -> str:
    """The rule that blocked an attempt, from its stored checks."""
    try:
        checks = json.loads(attempt.checks or "[]")
    except ValueError:
        checks = []
    for check in checks:
        if isinstance(check, dict) and not check.get("passed", True):
            return str(check.get("name", "policy"))
    return "policy"


@dataclass(frozen=True)
class Activity:
    """Sends and blocks at or after `since`, as (created_at, status) pairs plus today's rules."""

    points: list[tuple[datetime, str]]
    blocks_today_by_rule: Counter[str]


async def activity_since(
    session: AsyncSession, scope: int | None, since: datetime, today_start: datetime
) -> Activity:
    statuses = (AttemptStatus.SENT.value, AttemptStatus.BLOCKED.value)
    query = _owned(
        select(Attempt.created_at, Attempt.status, Attempt.checks).where(
            Attempt.created_at >= since, Attempt.status.in_(statuses)
        ),
        Attempt.user_id,
        scope,
    )
    points: list[tuple[datetime, str]] = []
    rules: Counter[str] = Counter()
    for created_at, status, checks in (await session.execute(query)).all():
        points.append((created_at, status))
        if status == AttemptStatus.BLOCKED.value and created_at >= today_start:
            rules[first_failed_rule(Attempt(checks=checks))] += 1
    return Activity(points, rules)


async def user_counts(session: AsyncSession, scope: int | None, day: date) -> list[tuple[int, int]]:
    """(user id, sends reserved today) for the scope; users with none are left out."""
    query = _owned(
        select(DailyCounter.user_id, DailyCounter.count).where(
            DailyCounter.scope == "user", DailyCounter.day == day.isoformat()
        ),
        DailyCounter.user_id,
        scope,
    )
    return [(int(u), int(c)) for u, c in (await session.execute(query)).all()]


async def busiest_domains(
    session: AsyncSession, scope: int | None, day: date, limit: int = 5
) -> list[tuple[int, str, int]]:
    """(user id, recipient domain, count) closest to the domain cap today."""
    query = _owned(
        select(DailyCounter.user_id, DailyCounter.scope_key, DailyCounter.count).where(
            DailyCounter.scope == "domain", DailyCounter.day == day.isoformat()
        ),
        DailyCounter.user_id,
        scope,
    )
    rows = await session.execute(query.order_by(DailyCounter.count.desc()).limit(limit))
    return [(int(u), str(d), int(c)) for u, d, c in rows.all()]


async def list_suppressions(
    session: AsyncSession, scope: int | None, search: str | None, *, limit: int, offset: int
) -> tuple[list[Suppression], int]:
    query = select(Suppression)
    if scope is not None:
        query = query.where(or_(Suppression.user_id == scope, Suppression.user_id.is_(None)))
    if search:
        needle = search.lower()
        query = query.where(
            or_(
                func.lower(Suppression.value).contains(needle, autoescape=True),
                func.lower(func.coalesce(Suppression.reason, "")).contains(needle, autoescape=True),
            )
        )
    return await _page(session, query, Suppression.id.desc(), limit, offset)


async def get_suppression(
    session: AsyncSession, scope: int | None, suppression_id: int
) -> Suppression | None:
    query = select(Suppression).where(Suppression.id == suppression_id)
    if scope is not None:
        query = query.where(or_(Suppression.user_id == scope, Suppression.user_id.is_(None)))
    return await session.scalar(query)


async def list_replies(
    session: AsyncSession, scope: int | None, *, limit: int, offset: int
) -> tuple[list[Reply], int]:
    return await _page(
        session, _owned(select(Reply), Reply.user_id, scope), Reply.id.desc(), limit, offset
    )


async def get_reply(session: AsyncSession, scope: int | None, reply_id: int) -> Reply | None:
    found: Reply | None = await session.scalar(
        _owned(select(Reply).where(Reply.id == reply_id), Reply.user_id, scope)
    )
    return found


async def attempts_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Attempt]:
    if not ids:
        return {}
    rows = await session.scalars(select(Attempt).where(Attempt.id.in_(sorted(ids))))
    return {a.id: a for a in rows.all()}


async def list_bounces(
    session: AsyncSession, scope: int | None, *, limit: int, offset: int
) -> tuple[list[BounceEvent], int]:
    query = _owned(select(BounceEvent), BounceEvent.user_id, scope)
    return await _page(session, query, BounceEvent.id.desc(), limit, offset)


async def list_incidents(
    session: AsyncSession, scope: int | None, *, limit: int, offset: int
) -> tuple[list[SenderIncident], int]:
    query = _owned(select(SenderIncident), SenderIncident.user_id, scope)
    return await _page(session, query, SenderIncident.id.desc(), limit, offset)


@dataclass(frozen=True)
class AuditQuery:
    result: str | None = None
    recipient: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_audit(
    session: AsyncSession, scope: int | None, f: AuditQuery, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    query = _owned(select(AuditEntry), AuditEntry.user_id, scope)
    if f.result:
        query = query.where(AuditEntry.policy_result == f.result)
    if f.recipient:
        query = query.where(func.lower(AuditEntry.lead_email).contains(f.recipient.lower()))
    if f.event:
        query = query.where(AuditEntry.event == f.event)
    if f.since is not None:
        query = query.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEntry.created_at < f.until)
    return await _page(session, query, AuditEntry.seq.desc(), limit, offset)


async def audit_events(session: AsyncSession, scope: int | None) -> list[str]:
    query = _owned(select(AuditEntry.event).distinct(), AuditEntry.user_id, scope)
    return sorted(str(e) for e in (await session.scalars(query)).all())


async def audit_head(session: AsyncSession) -> AuditHead | None:
    return await session.get(AuditHead, 1)


async def list_campaigns(
    session: AsyncSession, scope: int | None, *, limit: int, offset: int
) -> tuple[list[Campaign], int]:
    query = _owned(select(Campaign), Campaign.user_id, scope)
    return await _page(session, query, Campaign.id.desc(), limit, offset)


async def get_campaign(
    session: AsyncSession, scope: int | None, campaign_id: int
) -> Campaign | None:
    found: Campaign | None = await session.scalar(
        _owned(select(Campaign).where(Campaign.id == campaign_id), Campaign.user_id, scope)
    )
    return found


async def lead_status_counts(
    session: AsyncSession, campaign_ids: list[int]
) -> dict[int, Counter[str]]:
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(Lead.campaign_id, Lead.status, func.count(Lead.id))
        .where(Lead.campaign_id.in_(campaign_ids))
        .group_by(Lead.campaign_id, Lead.status)
    )
    found: dict[int, Counter[str]] = {}
    for campaign_id, status, count in rows.all():
        found.setdefault(int(campaign_id), Counter())[str(status)] = int(count)
    return found


async def list_leads(
    session: AsyncSession, campaign_id: int, status: str | None, *, limit: int, offset: int
) -> tuple[list[Lead], int]:
    query = select(Lead).where(Lead.campaign_id == campaign_id)
    if status:
        query = query.where(Lead.status == status)
    return await _page(session, query, Lead.id, limit, offset)
