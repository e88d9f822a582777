"""Compose stage: the message as it goes out (MIME, unsubscribe links, DKIM signature).

Pure CPU work, run after the reservation committed so that the database is not
held while it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sendwarden.config import Settings
from sendwarden.policy import PolicyDecision
from sendwarden.policy.unsubscribe_token import make_unsubscribe_token
from sendwarden.services.errors import InvalidInput
from sendwarden.services.send.model import SendRequest
from sendwarden.storage.models import Attempt
from sendwarden.transport.dkim import DkimSigner
from sendwarden.transport.errors import MessageBuildError
from sendwarden.transport.message import (
    UnsubscribeLinks,
    check_header_value,
    make_unsubscribe_links,
)
from sendwarden.transport.message_direct import outgoing_message_bytes


@dataclass(frozen=True)
class Composer:
    settings: Settings
    secret: bytes  # signs the unsubscribe tokens
    dkim: DkimSigner | None = None

    def check_headers(self, request: SendRequest) -> None:
        """Refuse header injection before anything is written or reserved."""
        try:
            check_header_value("subject", request.subject)
            if self.settings.smtp_from_name is not None:
                check_header_value("sender_name", self.settings.smtp_from_name)
        except MessageBuildError as exc:
            raise InvalidInput(getattr(exc, "field", "message"), str(exc)) from exc

    def compose(self, attempt: Attempt, decision: PolicyDecision, request: SendRequest) -> bytes:
        """The signed message bytes of a reserved attempt."""
        try:
            raw = outgoing_message_bytes(
                attempt.message_id,
                sender_email=decision.sender.effective,
                sender_name=self.settings.smtp_from_name,
                recipient_email=decision.recipient_email,
                subject=request.subject,
                text_body=request.body,
                html_body=request.html_body,
                unsubscribe=self._unsubscribe_links(attempt, decision),
            )
        except MessageBuildError as exc:
            raise InvalidInput(getattr(exc, "field", "message"), str(exc)) from exc
        return self.dkim.sign(raw) if self.dkim is not None else raw

    def _unsubscribe_links(
        self, attempt: Attempt, decision: PolicyDecision
    ) -> UnsubscribeLinks | None:
        if not self.settings.sendwarden_public_url:
            return None
        token = make_unsubscribe_token(
            self.secret,
            user_id=attempt.user_id,
            recipient=decision.recipient_email,
            attempt_id=attempt.id,
            issued_at=int(time.time()),
        )
        mailbox = self.settings.imap_user
        return make_unsubscribe_links(
            public_url=self.settings.sendwarden_public_url,
            token=token,
            mailbox=mailbox if mailbox and "@" in mailbox else decision.sender.effective,
        )
