"""Send attempts as both edges list them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.schemas.attempts import AttemptOut
from sendwarden.schemas.common import Page
from sendwarden.storage import attempts
from sendwarden.storage.models import AttemptStatus


async def attempt_page(
    session: AsyncSession,
    user_id: int,
    *,
    campaign_id: int | None = None,
    status: AttemptStatus | None = None,
    limit: int,
    offset: int,
) -> Page[AttemptOut]:
    """The user's attempts, newest first, optionally of one campaign and in one state."""
    rows, total = await attempts.list_attempts(
        session,
        user_id=user_id,
        campaign_id=campaign_id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    items = [AttemptOut.from_row(a) for a in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)
