"""Reading what inbound processing recorded: bounces and sender incidents, per user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import Attempt, BounceEvent, SenderIncident
from sendwarden.storage.pagination import count, window


@dataclass(frozen=True)
class EventFilter:
    user_id: int
    kind: str | None = None  # bounces: hard / soft
    status: str | None = None  # a status code or its prefix ("5.1", "4.2.2")
    recipient: str | None = None  # an address, or a domain for every address in it
    source: str | None = None  # dsn / smtp
    since: datetime | None = None
    until: datetime | None = None


def _recipient_match(column: Any, value: str) -> ColumnElement[bool]:
    value = value.strip().lower()
    if "@" in value:
        return func.lower(column) == value
    return or_(func.lower(column).like(f"%@{value}"), func.lower(column).like(f"%.{value}"))


def _conditions(model: Any, query: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [model.user_id == query.user_id]
    if query.status:
        conditions.append(model.status.like(f"{query.status}%"))
    if query.source:
        conditions.append(model.source == query.source)
    if query.since is not None:
        conditions.append(model.created_at >= query.since)
    if query.until is not None:
        conditions.append(model.created_at < query.until)
    return conditions


async def _page(
    session: AsyncSession,
    model: Any,
    conditions: list[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[list[tuple[Any, str | None]], int]:
    total = await count(session, model, conditions)
    rows = window(
        select(model, Attempt.message_id)
        .outerjoin(Attempt, Attempt.id == model.attempt_id)
        .where(*conditions),
        order_by=model.id.desc(),
        limit=limit,
        offset=offset,
    )
    result = await session.execute(rows)
    return [(row[0], row[1]) for row in result.all()], total


async def list_bounces(
    session: AsyncSession, query: EventFilter, *, limit: int, offset: int
) -> tuple[list[tuple[BounceEvent, str | None]], int]:
    """(bounce, Message-ID of the matched attempt) pairs, newest first, and the total."""
    conditions = _conditions(BounceEvent, query)
    if query.kind:
        conditions.append(BounceEvent.classification == query.kind)
    if query.recipient:
        conditions.append(_recipient_match(BounceEvent.recipient, query.recipient))
    return await _page(session, BounceEvent, conditions, limit, offset)


async def list_incidents(
    session: AsyncSession, query: EventFilter, *, limit: int, offset: int
) -> tuple[list[tuple[SenderIncident, str | None]], int]:
    conditions = _conditions(SenderIncident, query)
    if query.recipient:
        value = query.recipient.strip().lower()
        conditions.append(
            _recipient_match(SenderIncident.recipient, value)
            if "@" in value
            else or_(
                func.lower(SenderIncident.recipient_domain) == value,
                _recipient_match(SenderIncident.recipient, value),
            )
        )
    return await _page(session, SenderIncident, conditions, limit, offset)
