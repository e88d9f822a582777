"""Send attempts: list them, read one, settle an `unknown` one by hand."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from sendwarden.api.deps import CurrentUser, ReadSession, Session
from sendwarden.api.pagination import Id, Limit, Offset
from sendwarden.schemas.attempts import AttemptOut
from sendwarden.schemas.common import Page, Request
from sendwarden.schemas.fields import FreeText
from sendwarden.services import resolution
from sendwarden.services.attempts import attempt_page
from sendwarden.services.campaigns import owned_campaign
from sendwarden.services.errors import NotFound
from sendwarden.storage import attempts
from sendwarden.storage.models import AttemptStatus

router = APIRouter(tags=["attempts"])


@router.get("/campaigns/{campaign_id}/attempts", response_model=Page[AttemptOut])
async def list_attempts(
    campaign_id: Id,
    user: CurrentUser,
    session: ReadSession,
    status: AttemptStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AttemptOut]:
    await owned_campaign(session, user.id, campaign_id)
    return await attempt_page(
        session, user.id, campaign_id=campaign_id, status=status, limit=limit, offset=offset
    )


@router.get("/attempts", response_model=Page[AttemptOut])
async def list_all_attempts(
    user: CurrentUser,
    session: ReadSession,
    status: AttemptStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AttemptOut]:
    """Your attempts, newest first; `?status=unknown` lists those an operator must resolve."""
    return await attempt_page(session, user.id, status=status, limit=limit, offset=offset)


@router.get("/attempts/{attempt_id}", response_model=AttemptOut)
async def get_attempt(attempt_id: Id, user: CurrentUser, session: ReadSession) -> AttemptOut:
    attempt = await attempts.get_attempt(session, user_id=user.id, attempt_id=attempt_id)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} not found")
    return AttemptOut.from_row(attempt)


class ResolveAttempt(Request):
    outcome: Literal["sent", "failed"]
    note: FreeText | None = Field(default=None, max_length=1000)


@router.post("/attempts/{attempt_id}/resolve", response_model=AttemptOut)
async def resolve_attempt(
    attempt_id: Id, body: ResolveAttempt, user: CurrentUser, session: Session
) -> AttemptOut:
    """Settle an `unknown` attempt after checking the mail server's logs.

    `failed` releases its duplicate key so the pitch can be sent again.
    """
    attempt = await resolution.resolve_unknown(
        session, user_id=user.id, attempt_id=attempt_id, outcome=body.outcome, note=body.note
    )
    return AttemptOut.from_row(attempt)
