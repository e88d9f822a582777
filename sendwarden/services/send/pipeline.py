"""The send pipeline (product.md §4): decide, compose, deliver, record.

Transactions are kept short and never span SMTP:
  1. decide (send/decide.py): one transaction writes the attempt and either
     blocks it, or reserves both cap slots and the duplicate key (all or
     nothing) with its Message-ID and audit entry;
  2. compose (send/compose.py) and deliver (send/deliver.py) run with no
     transaction open;
  3. record (send/record.py): one transaction records the outcome.
A crash between 1 and 3 leaves the attempt `sending` with its key reserved;
crash recovery (services/crash_recovery.py) marks it `unknown` so nothing
resends it by itself.

Steps 1 and 3 are group-committed (services.group_commit): concurrent sends
share those transactions, which is where most of a send's database cost went.
"""

from __future__ import annotations

from sendwarden.config import Settings
from sendwarden.observability import metrics
from sendwarden.observability.logging import get_logger
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import InvalidInput, NotConfigured
from sendwarden.services.group_commit import GroupCommit
from sendwarden.services.send.compose import Composer
from sendwarden.services.send.decide import Decider
from sendwarden.services.send.deliver import deliver
from sendwarden.services.send.model import (
    MAX_BODY_CHARS,
    RejectionHook,
    SendRequest,
    SendResult,
    Transport,
)
from sendwarden.services.send.record import Recorder, outcome_recording
from sendwarden.storage.db import Database
from sendwarden.transport.dkim import DkimSigner

log = get_logger("sendwarden.send")


class SendPipeline:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        policy: PolicySettings,
        transport: Transport | None,
        secret: bytes,
        dkim: DkimSigner | None = None,
        on_rejection: RejectionHook | None = None,
        transport_problem: str | None = None,
        owner: str | None = None,
    ) -> None:
        self.transport_problem = transport_problem
        # Whose in-flight attempts these are, for recovery: this process's lease id, or
        # the host name when no lease is kept (the CLI).
        self.owner = owner or settings.sendwarden_instance_name
        self.db = db
        self.settings = settings
        self.policy = policy
        self.transport = transport
        self.composer = Composer(settings, secret, dkim)
        self.recorder = Recorder(db, on_rejection)
        decider = Decider(db=db, policy=policy, owner=self.owner)
        self._deciding = GroupCommit(decider.decide_batch, kind="send_decide")
        self._recording = GroupCommit(self.recorder.delivered, kind="send_record")

    async def send(self, user_id: int, request: SendRequest) -> SendResult:
        if self.transport is None:
            raise NotConfigured(f"SMTP is not usable: {self.transport_problem or 'set SMTP_HOST'}")
        if len(request.body) > MAX_BODY_CHARS:
            raise InvalidInput("body", f"must be at most {MAX_BODY_CHARS} characters")
        self.composer.check_headers(request)
        decided = await self._deciding.submit((user_id, request))
        attempt, decision = decided.attempt, decided.decision
        if not decided.reserved:
            metrics.BLOCKS.labels(decided.rule).inc()
            metrics.SENDS.labels(decided.outcome).inc()
            log.info("send", attempt_id=attempt.id, outcome=decided.outcome, reason=attempt.reason)
            return SendResult(decided.outcome, attempt, decision)
        try:
            raw = self.composer.compose(attempt, decision, request)
        except BaseException:
            await self.recorder.not_composed(attempt)  # nothing was sent: free the key
            raise
        error = await deliver(
            self.transport,
            raw,
            sender=decision.sender.effective,
            recipient=decision.recipient_email,
        )
        if error is not None:
            with outcome_recording(attempt.id, delivered=False):
                attempt = await self.recorder.failed(attempt, error)
            metrics.SENDS.labels(attempt.status).inc()  # failed, or unknown if ambiguous
            log.warning("send", attempt_id=attempt.id, outcome=attempt.status, smtp=str(error))
            return SendResult("failed", attempt, decision, error)
        with outcome_recording(attempt.id, delivered=True):
            attempt = await self._recording.submit(attempt)
        metrics.SENDS.labels("sent").inc()
        log.info("send", attempt_id=attempt.id, outcome="sent")
        return SendResult("sent", attempt, decision)
