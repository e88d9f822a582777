"""Suppression entries (addresses or registrable domains), per user or global."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import table_of
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


@dataclass(frozen=True)
class Match:
    """The fields of a suppression entry that explain a block."""

    user_id: int | None
    kind: str
    value: str
    reason: str | None


_SUPPRESSIONS = table_of(Suppression)
# Built once: every send runs it (see storage.counters).
_MATCHING = (
    select(
        _SUPPRESSIONS.c.user_id, _SUPPRESSIONS.c.kind, _SUPPRESSIONS.c.value, _SUPPRESSIONS.c.reason
    )
    .where(
        or_(_SUPPRESSIONS.c.user_id == bindparam("user_id"), _SUPPRESSIONS.c.user_id.is_(None)),
        or_(
            (_SUPPRESSIONS.c.kind == SuppressionKind.EMAIL.value)
            & (_SUPPRESSIONS.c.value == bindparam("address")),
            (_SUPPRESSIONS.c.kind == SuppressionKind.DOMAIN.value)
            & _SUPPRESSIONS.c.value.in_(bindparam("domains", expanding=True)),
        ),
    )
    .order_by(_SUPPRESSIONS.c.id)
)


async def matching(
    session: AsyncSession, *, user_id: int, address: str, domains: Sequence[str]
) -> list[Match]:
    """Entries blocking `address` for `user_id`: the address or one of `domains`, own or global."""
    params = {"user_id": user_id, "address": address, "domains": list(domains)}
    rows = [Match(*row) for row in (await session.execute(_MATCHING, params)).all()]
    # Own entries first, then address before domain, for a stable explanation.
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
