"""One page of a list, and the total it is a page of: how every list read is paged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
Where = Sequence[ColumnElement[bool]]


async def count(session: AsyncSession, model: Any, where: Where) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def count_of(session: AsyncSession, query: Select[Any]) -> int:
    """How many rows `query` returns (for queries a model and conditions cannot express)."""
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def window(query: Select[Any], *, order_by: Any, limit: int, offset: int) -> Select[Any]:
    """`query` cut to one page, in a stable order (ties would make pages overlap).

    `order_by` is one column or a tuple of them.
    """
    order = order_by if isinstance(order_by, tuple) else (order_by,)
    return query.order_by(*order).limit(limit).offset(offset)


async def page(
    session: AsyncSession,
    model: type[T],
    where: Where,
    *,
    order_by: Any,
    limit: int,
    offset: int,
) -> tuple[list[T], int]:
    """The rows of `model` matching `where` on this page, and how many match in all."""
    total = await count(session, model, where)
    query = window(select(model).where(*where), order_by=order_by, limit=limit, offset=offset)
    rows = await session.scalars(query)
    return list(rows.all()), total


async def page_of(
    session: AsyncSession, query: Select[Any], *, order_by: Any, limit: int, offset: int
) -> tuple[list[Any], int]:
    """`page` for an arbitrary single-entity query."""
    total = await count_of(session, query)
    rows = await session.scalars(window(query, order_by=order_by, limit=limit, offset=offset))
    return list(rows.all()), total
