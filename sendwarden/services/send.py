"""The send pipeline (product.md §4): policy, atomic reservation, SMTP, bookkeeping.

Transactions are kept short and never span SMTP:
  1. one transaction decides: policy reads, then either a `blocked` attempt,
     or a `sending` attempt together with the idempotency key and both cap
     slots (all or nothing, through a savepoint), its Message-ID and the
     audit entry;
  2. SMTP runs with no transaction open;
  3. one transaction records the outcome.
A crash between 1 and 3 leaves the attempt `sending` with its key reserved;
start-up recovery marks it `unknown` so nothing resends it by itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.config import Settings
from sendwarden.observability import metrics
from sendwarden.observability.logging import get_logger
from sendwarden.policy import PolicyDecision, counter_day
from sendwarden.policy.unsubscribe_token import make_unsubscribe_token
from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import (
    InvalidInput,
    NotConfigured,
    NotFound,
    OutcomeNotRecorded,
)
from sendwarden.storage import campaigns, counters, send_keys
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, AttemptStatus, Lead, LeadStatus
from sendwarden.storage.types import utcnow
from sendwarden.transport.dkim import DkimSigner
from sendwarden.transport.errors import DeliveryError, MessageBuildError
from sendwarden.transport.message import (
    build_message,
    check_header_value,
    make_message_id,
    make_unsubscribe_links,
    message_bytes,
)
from sendwarden.transport.pool import DeliveryReceipt

MAX_BODY_CHARS = 256 * 1024
log = get_logger("sendwarden.send")


class Transport(Protocol):
    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> DeliveryReceipt: ...

    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class SendRequest:
    campaign_id: int
    lead_id: int
    subject: str
    body: str
    html_body: str | None = None
    sender_email: str | None = None


Outcome = Literal["sent", "blocked", "in_flight", "failed"]


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    attempt: Attempt
    decision: PolicyDecision
    error: DeliveryError | None = None


@dataclass(frozen=True)
class _Prepared:
    attempt: Attempt
    decision: PolicyDecision
    reserved: bool  # False when blocked
    outcome: Outcome = "blocked"


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
    ) -> None:
        self.transport_problem = transport_problem
        self.db = db
        self.settings = settings
        self.policy = policy
        self.transport = transport
        self.secret = secret
        self.dkim = dkim
        self.on_rejection = on_rejection

    async def send(self, user_id: int, request: SendRequest) -> SendResult:
        if self.transport is None:
            raise NotConfigured(f"SMTP is not usable: {self.transport_problem or 'set SMTP_HOST'}")
        if len(request.body) > MAX_BODY_CHARS:
            raise InvalidInput("body", f"must be at most {MAX_BODY_CHARS} characters")
        self._check_headers(request)
        async with self.db.transaction() as session:
            prepared = await self._decide(session, user_id, request)
        attempt, decision = prepared.attempt, prepared.decision
        if not prepared.reserved:
            metrics.SENDS.labels(prepared.outcome).inc()
            log.info("send", attempt_id=attempt.id, outcome=prepared.outcome, reason=attempt.reason)
            return SendResult(prepared.outcome, attempt, decision)
        # MIME and DKIM are CPU work: done after the reservation committed, so that the
        # database (one writer at a time on SQLite) is not held while they run.
        try:
            raw = self._build(attempt, decision, request)
        except BaseException:
            await self._abandon(attempt)  # nothing was sent: free the key
            raise
        started = time.perf_counter()
        try:
            await self.transport.send(
                raw, sender=decision.sender.effective, recipients=[decision.recipient_email]
            )
        except DeliveryError as error:
            metrics.SMTP_LATENCY.observe(time.perf_counter() - started)
            metrics.SMTP_POOL_SIZE.set(self.transport.size)
            with _outcome_recording(attempt.id, delivered=False):
                attempt = await self._record_failure(attempt, error)
            metrics.SENDS.labels(attempt.status).inc()  # failed, or unknown if ambiguous
            log.warning("send", attempt_id=attempt.id, outcome=attempt.status, smtp=str(error))
            return SendResult("failed", attempt, decision, error)
        metrics.SMTP_LATENCY.observe(time.perf_counter() - started)
        metrics.SMTP_POOL_SIZE.set(self.transport.size)
        with _outcome_recording(attempt.id, delivered=True):
            attempt = await self._record_success(attempt)
        metrics.SENDS.labels("sent").inc()
        log.info("send", attempt_id=attempt.id, outcome="sent")
        return SendResult("sent", attempt, decision)

    async def _decide(self, session: AsyncSession, user_id: int, request: SendRequest) -> _Prepared:
        lead = await campaigns.get_lead(
            session, user_id=user_id, campaign_id=request.campaign_id, lead_id=request.lead_id
        )
        if lead is None:
            raise NotFound(f"lead {request.lead_id} not found in campaign {request.campaign_id}")
        if not lead.contact_email:
            raise InvalidInput("lead_id", f"lead {lead.id} has no contact email")
        now = utcnow()
        decision = await policy_check.check(
            session,
            user_id=user_id,
            recipient=lead.contact_email,
            requested_sender=request.sender_email,
            subject=request.subject,
            consent_recorded=lead.consent_recorded_at is not None,
            settings=self.policy,
            now=now,
        )
        attempt = _new_attempt(user_id, lead, request, decision, self.settings)
        session.add(attempt)
        if not decision.allowed:
            return await self._block(
                session,
                attempt,
                decision,
                request,
                decision.reason,
                in_flight=decision.blocked_by == "idempotency"
                and await send_keys.duplicate_state(session, user_id, decision.idempotency_key)
                == "in_flight",
            )

        attempt.status = AttemptStatus.SENDING.value
        await session.flush()
        day = counter_day(now, self.policy.timezone).isoformat()
        try:
            async with session.begin_nested():  # all three reservations, or none
                if not await send_keys.try_reserve(
                    session,
                    user_id=user_id,
                    key_hash=decision.idempotency_key,
                    attempt_id=attempt.id,
                ):
                    raise _Refused("idempotency")
                reservation = await counters.reserve_slots(
                    session,
                    user_id=user_id,
                    domain=decision.registrable_domain,
                    day=day,
                    user_cap=self.policy.user_cap,
                    domain_cap=self.policy.domain_cap,
                )
                if not reservation.ok:
                    raise _Refused(
                        "daily_user_cap" if reservation.blocked_by == "user" else "daily_domain_cap"
                    )
        except _Refused as refused:
            return await self._refused(session, attempt, decision, request, refused.rule)
        attempt.message_id = make_message_id(decision.sender.effective)
        await policy_check.record(
            session,
            decision,
            user_id=user_id,
            subject=request.subject,
            attempt_id=attempt.id,
            extra={"message_id": attempt.message_id},
        )
        return _Prepared(attempt, decision, reserved=True)

    async def _refused(
        self,
        session: AsyncSession,
        attempt: Attempt,
        decision: PolicyDecision,
        request: SendRequest,
        rule: str,
    ) -> _Prepared:
        """A reservation lost a race that the policy reads could not see."""
        if rule == "idempotency":
            state = await send_keys.duplicate_state(
                session, attempt.user_id, decision.idempotency_key
            )
            reason = (
                "Already sent to this recipient with this subject within 24 h"
                if state == "sent"
                else "An identical send to this recipient is in progress"
            )
            return await self._block(
                session, attempt, decision, request, reason, rule=rule, in_flight=state != "sent"
            )
        if rule == "daily_user_cap":
            cap = self.policy.user_cap
            reason = f"Daily sending limit reached: {cap}/{cap} today"
        else:
            cap = self.policy.domain_cap
            reason = (
                f"Daily limit for recipient domain {decision.registrable_domain} reached:"
                f" {cap}/{cap} today"
            )
        return await self._block(session, attempt, decision, request, reason, rule=rule)

    async def _block(
        self,
        session: AsyncSession,
        attempt: Attempt,
        decision: PolicyDecision,
        request: SendRequest,
        reason: str,
        rule: str | None = None,
        in_flight: bool = False,
    ) -> _Prepared:
        attempt.status = AttemptStatus.BLOCKED.value
        attempt.reason = reason
        attempt.message_id = None
        await session.flush()
        rule = rule or decision.blocked_by or "unknown"
        metrics.BLOCKS.labels(rule).inc()
        await policy_check.record(
            session,
            decision,
            user_id=attempt.user_id,
            subject=request.subject,
            attempt_id=attempt.id,
            result="blocked",
            reason=reason,
            extra={"blocked_by": rule},
        )
        return _Prepared(attempt, decision, False, "in_flight" if in_flight else "blocked")

    def _check_headers(self, request: SendRequest) -> None:
        """Refuse header injection before anything is written or reserved."""
        try:
            check_header_value("subject", request.subject)
            if self.settings.smtp_from_name is not None:
                check_header_value("sender_name", self.settings.smtp_from_name)
        except MessageBuildError as exc:
            raise InvalidInput(getattr(exc, "field", "message"), str(exc)) from exc

    def _build(self, attempt: Attempt, decision: PolicyDecision, request: SendRequest) -> bytes:
        sender = decision.sender.effective
        unsubscribe = None
        if self.settings.sendwarden_public_url:
            token = make_unsubscribe_token(
                self.secret,
                user_id=attempt.user_id,
                recipient=decision.recipient_email,
                attempt_id=attempt.id,
                issued_at=int(time.time()),
            )
            unsubscribe = make_unsubscribe_links(
                public_url=self.settings.sendwarden_public_url,
                token=token,
                mailbox=self.settings.imap_user
                if self.settings.imap_user and "@" in self.settings.imap_user
                else sender,
            )
        try:
            message = build_message(
                sender_email=sender,
                sender_name=self.settings.smtp_from_name,
                recipient_email=decision.recipient_email,
                subject=request.subject,
                text_body=request.body,
                html_body=request.html_body,
                message_id=attempt.message_id,
                unsubscribe=unsubscribe,
            )
        except MessageBuildError as exc:
            raise InvalidInput(getattr(exc, "field", "message"), str(exc)) from exc
        raw = message_bytes(message)
        return self.dkim.sign(raw) if self.dkim is not None else raw

    async def _abandon(self, attempt: Attempt) -> None:
        """The message could not be built, so it never reached SMTP: fail and free the key."""
        async with self.db.transaction() as session:
            await session.execute(
                update(Attempt)
                .where(Attempt.id == attempt.id)
                .values(
                    status=AttemptStatus.FAILED.value,
                    reason="The message could not be built; nothing was sent",
                    updated_at=utcnow(),
                )
            )
            await send_keys.release(session, attempt_id=attempt.id)

    async def _record_success(self, attempt: Attempt) -> Attempt:
        now = utcnow()
        reason = "Delivered to the SMTP server"
        async with self.db.transaction() as session:
            await session.execute(
                update(Attempt)
                .where(Attempt.id == attempt.id)
                .values(status=AttemptStatus.SENT.value, sent_at=now, reason=reason, updated_at=now)
            )
            await send_keys.mark_used(session, attempt_id=attempt.id)
            if attempt.lead_id is not None:
                await session.execute(
                    update(Lead)
                    .where(Lead.id == attempt.lead_id, Lead.status == LeadStatus.DISCOVERED.value)
                    .values(status=LeadStatus.CONTACTED.value, updated_at=now)
                )
        attempt.status, attempt.sent_at, attempt.reason = AttemptStatus.SENT.value, now, reason
        return attempt

    async def _record_failure(self, attempt: Attempt, error: DeliveryError) -> Attempt:
        async with self.db.transaction() as session:
            row = await session.get(Attempt, attempt.id)
            assert row is not None
            row.smtp_code = error.code
            # The server's own words stay internal: never in API responses.
            row.smtp_error = f"{error.stage}: {error.server_message}"[:2000]
            if error.outcome_unknown:
                # The server may have taken the message: like a crash mid-send, keep
                # the key reserved so that no retry can deliver it twice.
                row.status = AttemptStatus.UNKNOWN.value
                row.reason = f"Delivery outcome unknown ({error}); resolve it manually"
                return row
            row.status = AttemptStatus.FAILED.value
            row.reason = f"SMTP delivery failed ({error})"
            await send_keys.release(session, attempt_id=row.id)
            if self.on_rejection is not None and error.permanent and error.stage == "rcpt":
                await self.on_rejection(session, row, error)
            return row


@contextmanager
def _outcome_recording(attempt_id: int, *, delivered: bool) -> Iterator[None]:
    """A database failure after SMTP must not read as "nothing happened" to the caller.

    The attempt stays `sending` with its key reserved (the crash-safety state of
    product.md §4), so a retry answers 409 and nothing is delivered twice.
    """
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        log.error("send outcome not recorded", attempt_id=attempt_id, error=type(exc).__name__)
        what = "was accepted by the SMTP server" if delivered else "was not confirmed by SMTP"
        raise OutcomeNotRecorded(
            f"The message of attempt {attempt_id} {what}, but the database is unavailable"
            " and the outcome could not be recorded. The attempt stays reserved and will"
            " not be sent again automatically; it is marked unknown at the next start."
        ) from exc


class _Refused(Exception):
    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


class RejectionHook(Protocol):
    async def __call__(
        self, session: AsyncSession, attempt: Attempt, error: DeliveryError
    ) -> None: ...


def _new_attempt(
    user_id: int, lead: Lead, request: SendRequest, decision: PolicyDecision, settings: Settings
) -> Attempt:
    return Attempt(
        user_id=user_id,
        campaign_id=lead.campaign_id,
        lead_id=lead.id,
        status=AttemptStatus.APPROVED.value if decision.allowed else AttemptStatus.BLOCKED.value,
        recipient_email=decision.recipient_email,
        recipient_domain=decision.registrable_domain,
        sender_email=decision.sender.effective,
        requested_sender_email=decision.sender.requested,
        subject=request.subject,
        legal_basis=decision.legal_basis,
        region=decision.region,
        reason=decision.reason,
        checks=json.dumps(policy_check.checks_payload(decision)),
        idempotency_key=decision.idempotency_key,
        owner=settings.sendwarden_instance_name,
    )
