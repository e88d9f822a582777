from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def table_of(model: Any) -> Table:
    """The Core table of a mapped class, for statements built once at import time."""
    return cast(Table, model.__table__)
