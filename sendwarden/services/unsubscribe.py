"""One-click unsubscribe (RFC 8058): a valid token suppresses its recipient for its user."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy.unsubscribe_token import (
    InvalidToken,
    UnsubscribeClaim,
    verify_unsubscribe_token,
)
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.services.inbound_effects import set_lead_status, suppress_recipient
from sendwarden.storage.models import Attempt, LeadStatus, SuppressionSource, User


@dataclass(frozen=True)
class Unsubscribed:
    recipient: str


def read_token(secret: bytes, token: str) -> UnsubscribeClaim:
    try:
        return verify_unsubscribe_token(secret, token, now=int(time.time()))
    except InvalidToken as exc:
        raise InvalidInput("token", "this unsubscribe link is invalid or has expired") from exc


async def unsubscribe(session: AsyncSession, secret: bytes, token: str) -> Unsubscribed:
    claim = read_token(secret, token)
    user = await session.get(User, claim.user_id)
    attempt = await session.get(Attempt, claim.attempt_id)
    if user is None or attempt is None or attempt.user_id != user.id:
        raise NotFound("this unsubscribe link no longer applies")
    await suppress_recipient(
        session,
        user_id=user.id,
        recipient=claim.recipient,
        source=SuppressionSource.UNSUBSCRIBE,
        reason="One-click unsubscribe",
        attempt_id=attempt.id,
        evidence={"via": "list-unsubscribe"},
    )
    await set_lead_status(session, attempt.lead_id, LeadStatus.UNSUBSCRIBED)
    return Unsubscribed(claim.recipient)
