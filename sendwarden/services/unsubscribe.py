"""One-click unsubscribe (RFC 8058): a valid token suppresses its recipient for its user.

Like every other source it goes through the one effects handler (inbound_effects.handle).
"""

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
from sendwarden.services.inbound_effects import EventSource, RecipientEvent, handle
from sendwarden.storage.models import Attempt, User


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
    await handle(
        session,
        RecipientEvent(
            source=EventSource.UNSUBSCRIBE_CLICK,
            attempt=attempt,
            recipient=claim.recipient,
            reason="One-click unsubscribe",
            evidence={"list_unsubscribe": "one-click"},
        ),
    )
    return Unsubscribed(claim.recipient)
