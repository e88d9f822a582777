"""Suppression entries (addresses or registrable domains), per user or global."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy.addresses import mailbox_key
from sendwarden.storage import suppression_bulk
from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import Suppression, SuppressionKind
from sendwarden.storage.pagination import page_of


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
        mailbox=mailbox_key(entry.value) if entry.kind == SuppressionKind.EMAIL else None,
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
    mailbox: str | None = None


_SUPPRESSIONS = table_of(Suppression)
# Built once: every send runs it (see storage.daily_caps).
_MATCHING_ANY = (
    select(
        _SUPPRESSIONS.c.user_id,
        _SUPPRESSIONS.c.kind,
        _SUPPRESSIONS.c.value,
        _SUPPRESSIONS.c.reason,
        _SUPPRESSIONS.c.mailbox,
    )
    .where(
        or_(
            _SUPPRESSIONS.c.user_id.in_(bindparam("user_ids", expanding=True)),
            _SUPPRESSIONS.c.user_id.is_(None),
        ),
        or_(
            (_SUPPRESSIONS.c.kind == SuppressionKind.EMAIL.value)
            & _SUPPRESSIONS.c.mailbox.in_(bindparam("mailboxes", expanding=True)),
            (_SUPPRESSIONS.c.kind == SuppressionKind.DOMAIN.value)
            & _SUPPRESSIONS.c.value.in_(bindparam("domains", expanding=True)),
        ),
    )
    .order_by(_SUPPRESSIONS.c.id)
)


@dataclass(frozen=True)
class Lookup:
    """One recipient to check: its mailbox_key() and its candidate domains.

    An email entry matches by mailbox, so "+tag" variants of one mailbox all match.
    """

    user_id: int
    mailbox: str
    domains: Sequence[str]


async def matching_many(session: AsyncSession, lookups: Sequence[Lookup]) -> list[list[Match]]:
    """Entries blocking each lookup's address or one of its domains, own or global.

    One query for all of them; each list has own entries first, then addresses
    before domains, for a stable explanation.
    """
    if not lookups:
        return []
    params = {
        "user_ids": sorted({x.user_id for x in lookups}),
        "mailboxes": sorted({x.mailbox for x in lookups}),
        "domains": sorted({d for x in lookups for d in x.domains}),
    }
    rows = [Match(*row) for row in (await session.execute(_MATCHING_ANY, params)).all()]
    found = []
    for lookup in lookups:
        hits = [
            row
            for row in rows
            if row.user_id in (lookup.user_id, None)
            and (
                row.value in lookup.domains
                if row.kind == SuppressionKind.DOMAIN.value
                else row.mailbox == lookup.mailbox
            )
        ]
        # Own entries first, then address before domain, for a stable explanation.
        hits.sort(key=lambda r: (r.user_id is None, r.kind != SuppressionKind.EMAIL.value))
        found.append(hits)
    return found


async def list_visible(
    session: AsyncSession, *, user_id: int, search: str | None, limit: int, offset: int
) -> tuple[list[Suppression], int]:
    """Own and global entries; `search` is a case-insensitive prefix of the value.

    The value is the normalised address or domain, so a prefix search is an
    index range scan (see suppression_bulk.prefix_condition) at any list size.
    """
    prefix = search.strip().lower() if search else None
    query = suppression_bulk.search_query(session, user_id=user_id, prefix=prefix)
    order = suppression_bulk.search_order(session) if prefix else (Suppression.id,)
    return await page_of(session, query, order_by=tuple(order), limit=limit, offset=offset)


async def remove(
    session: AsyncSession, *, user_id: int | None, kind: str, value: str
) -> Suppression | None:
    row = await find(session, user_id=user_id, kind=kind, value=value)
    if row is None:
        return None
    await session.execute(delete(Suppression).where(Suppression.id == row.id))
    return row
