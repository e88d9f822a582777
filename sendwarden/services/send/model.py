"""What goes into the send pipeline and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import PolicyDecision
from sendwarden.storage.models import Attempt
from sendwarden.transport.errors import DeliveryError
from sendwarden.transport.pool import DeliveryReceipt

MAX_BODY_CHARS = 256 * 1024


class Transport(Protocol):
    """What delivers a message: transport.pool.SmtpPool, or a fake in tests."""

    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> DeliveryReceipt: ...

    @property
    def size(self) -> int: ...


class RejectionHook(Protocol):
    """Called when SMTP refuses a recipient for good (services.inbound_effects)."""

    async def __call__(
        self, session: AsyncSession, attempt: Attempt, error: DeliveryError
    ) -> None: ...


@dataclass(frozen=True)
class SendRequest:
    campaign_id: int
    lead_id: int
    subject: str
    body: str
    html_body: str | None = None
    sender_email: str | None = None
    # The API key the request came with, when the edge took it from its cache
    # (services.auth.KeyChecker.check_provisional): decide confirms it is still valid.
    api_key_id: int | None = None


Outcome = Literal["sent", "blocked", "in_flight", "failed"]


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    attempt: Attempt
    decision: PolicyDecision
    error: DeliveryError | None = None
