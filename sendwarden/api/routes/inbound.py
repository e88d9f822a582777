from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from sendwarden.api.deps import CurrentUser, Session, State
from sendwarden.api.routes.campaigns import owned_campaign
from sendwarden.api.schemas import Page, Request
from sendwarden.inbound.model import ReplyClass
from sendwarden.services import replies
from sendwarden.services.errors import NotFound
from sendwarden.services.polling import poll_once
from sendwarden.storage import inbound
from sendwarden.storage.models import Reply

router = APIRouter(tags=["inbound"])


class ReplyOut(BaseModel):
    id: int
    attempt_id: int | None
    campaign_id: int | None
    lead_id: int | None
    from_address: str | None
    subject: str | None
    text: str
    classification: str
    auto_classification: str
    created_at: datetime
    reclassified_at: datetime | None


class Reclassify(Request):
    classification: ReplyClass


def reply_out(r: Reply) -> ReplyOut:
    return ReplyOut(
        id=r.id,
        attempt_id=r.attempt_id,
        campaign_id=r.campaign_id,
        lead_id=r.lead_id,
        from_address=r.from_address,
        subject=r.subject,
        text=r.text,
        classification=r.classification,
        auto_classification=r.auto_classification,
        created_at=r.created_at,
        reclassified_at=r.reclassified_at,
    )


@router.post("/replies/poll")
async def poll(user: CurrentUser, state: State) -> dict[str, Any]:
    """Read new messages from the outreach mailbox now (bounces, complaints, replies)."""
    del user  # any authenticated user may trigger a poll; it reports counts only
    return asdict(await poll_once(state.settings, state.db))


@router.get("/campaigns/{campaign_id}/replies", response_model=Page[ReplyOut])
async def list_replies(
    campaign_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: CurrentUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[ReplyOut]:
    await owned_campaign(session, user.id, campaign_id)
    rows, total = await inbound.list_replies(
        session, user_id=user.id, campaign_id=campaign_id, limit=limit, offset=offset
    )
    return Page(items=[reply_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.patch("/replies/{reply_id}", response_model=ReplyOut)
async def reclassify_reply(
    reply_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Reclassify,
    user: CurrentUser,
    session: Session,
) -> ReplyOut:
    """Correct a reply's class; moving away from a suppressing class lifts its suppression."""
    reply = await inbound.get_reply(session, user_id=user.id, reply_id=reply_id)
    if reply is None:
        raise NotFound(f"reply {reply_id} not found")
    await replies.reclassify(session, reply, body.classification, actor_id=user.id)
    return reply_out(reply)
