from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from sendwarden.api.deps import CurrentUser, ReadSession, Session, State
from sendwarden.inbound.model import ReplyClass
from sendwarden.schemas.common import Page, Request
from sendwarden.schemas.inbound import ReplyOut
from sendwarden.services import replies
from sendwarden.services.campaigns import owned_campaign
from sendwarden.services.errors import NotFound
from sendwarden.services.polling import poll_once
from sendwarden.storage import inbound

router = APIRouter(tags=["inbound"])


class Reclassify(Request):
    classification: ReplyClass


@router.post("/replies/poll")
async def poll(user: CurrentUser, state: State) -> dict[str, Any]:
    """Read new messages from the outreach mailbox now (bounces, complaints, replies)."""
    del user  # any authenticated user may trigger a poll; it reports counts only
    return asdict(await poll_once(state.settings, state.db))


@router.get("/campaigns/{campaign_id}/replies", response_model=Page[ReplyOut])
async def list_replies(
    campaign_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: CurrentUser,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[ReplyOut]:
    await owned_campaign(session, user.id, campaign_id)
    rows, total = await inbound.list_replies(
        session, user_id=user.id, campaign_id=campaign_id, limit=limit, offset=offset
    )
    return Page(items=[ReplyOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset)


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
    return ReplyOut.from_row(reply)
