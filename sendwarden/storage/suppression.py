"""Suppression entries (addresses or registrable domains), per user or global."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import Suppression, SuppressionKind


@dataclass(frozen=True)
class NewSuppression:
    kind: SuppressionKind
    value: str  # address_key() of an address, or a normalised domain
    reason: str | None
    source: str
    user_id: int | None  # None = global
    attempt_id: int | None = None


async def find(
    session: AsyncSession, *, user_id: int | None, kind: str, value: str
) -> Suppression | None:
    owner = Suppression.user_id.is_(None) if user_id is None else Suppression.user_id == user_id
    return await session.scalar(
        select(Suppression).where(owner, Suppression.kind == kind, Suppression.value == value)
    )


async def add(session: AsyncSession, entry: NewSuppression) -> tuple[Suppression, bool]:
    """Insert unless present; return (row, created). Concurrent duplicates are absorbed."""
    existing = await find(session, user_id=entry.user_id, kind=entry.kind, value=entry.value)
    if existing is not None:
        return existing, False
    row = Suppression(
        user_id=entry.user_id,
        kind=entry.kind.value,
        value=entry.value,
        reason=entry.reason,
        source=entry.source,
        attempt_id=entry.attempt_id,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = await find(session, user_id=entry.user_id, kind=entry.kind, value=entry.value)
        assert found is not None
        return found, False
    return row, True


async def matching(
    session: AsyncSession, *, user_id: int, address: str, domains: Sequence[str]
) -> list[Suppression]:
    """Entries blocking `address` for `user_id`: the address or one of `domains`, own or global."""
    conditions = [
        (Suppression.kind == SuppressionKind.EMAIL.value) & (Suppression.value == address)
    ]
    if domains:
        conditions.append(
            (Suppression.kind == SuppressionKind.DOMAIN.value) & Suppression.value.in_(domains)
        )
    query = select(Suppression).where(
        or_(Suppression.user_id == user_id, Suppression.user_id.is_(None)), or_(*conditions)
    )
    # Own entries first, then address before domain, for a stable explanation.
    rows = (await session.scalars(query.order_by(Suppression.id))).all()
    return sorted(rows, key=lambda r: (r.user_id is None, r.kind != SuppressionKind.EMAIL.value))


def _visible(user_id: int, search: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        or_(Suppression.user_id == user_id, Suppression.user_id.is_(None))
    ]
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                Suppression.value.like(pattern, escape="\\"),
                func.lower(func.coalesce(Suppression.reason, "")).like(pattern, escape="\\"),
            )
        )
    return conditions


async def list_visible(
    session: AsyncSession, *, user_id: int, search: str | None, limit: int, offset: int
) -> tuple[list[Suppression], int]:
    conditions = _visible(user_id, search)
    total = await session.scalar(select(func.count(Suppression.id)).where(*conditions))
    rows = await session.scalars(
        select(Suppression).where(*conditions).order_by(Suppression.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def iter_visible(session: AsyncSession, *, user_id: int) -> Sequence[Suppression]:
    query = select(Suppression).where(
        or_(Suppression.user_id == user_id, Suppression.user_id.is_(None))
    )
    return (await session.scalars(query.order_by(Suppression.id))).all()


async def remove(
    session: AsyncSession, *, user_id: int | None, kind: str, value: str
) -> Suppression | None:
    row = await find(session, user_id=user_id, kind=kind, value=value)
    if row is None:
        return None
    await session.execute(delete(Suppression).where(Suppression.id == row.id))
    return row
