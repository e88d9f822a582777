"""The send pipeline (product.md §4): policy, atomic reservation, SMTP, bookkeeping.

Transactions are kept short and never span SMTP:
  1. one transaction decides: policy reads, then either a `blocked` attempt,
     or a `sending` attempt together with both cap slots and the idempotency
     key (all or nothing), its Message-ID and the audit entry;
  2. SMTP runs with no transaction open;
  3. one transaction records the outcome.
A crash between 1 and 3 leaves the attempt `sending` with its key reserved;
start-up recovery marks it `unknown` so nothing resends it by itself.

Steps 1 and 3 are group-committed (services.group_commit): concurrent sends
share those transactions, which is where most of a send's database cost went.
Within a shared decision transaction requests are taken in user order, and
each takes its user's counter row before anything else it locks, so that
batches on several PostgreSQL workers always lock in the same order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.config import Settings
from sendwarden.observability import metrics
from sendwarden.observability.logging import get_logger
from sendwarden.policy import PolicyDecision, counter_day, refused
from sendwarden.policy.rules import CheckName
from sendwarden.policy.unsubscribe_token import make_unsubscribe_token
from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import (
    InvalidInput,
    NotConfigured,
    NotFound,
    OutcomeNotRecorded,
    ServiceError,
)
from sendwarden.services.group_commit import GroupCommit
from sendwarden.storage import attempts, audit, campaigns, counters, send_key_purge, send_keys
from sendwarden.storage.campaigns import LeadContact
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, AttemptStatus
from sendwarden.storage.types import utcnow
from sendwarden.transport.advice import explain
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
from sendwarden.webhooks import emit as webhook_events

MAX_BODY_CHARS = 256 * 1024
DELIVERED = "Delivered to the SMTP server"
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


@dataclass
class _Plan:
    """One request of a decision batch, from its policy reads to its audit entry."""

    index: int  # position in the batch
    user_id: int
    request: SendRequest
    lead: LeadContact
    decision: PolicyDecision
    now: datetime
    attempt: Attempt | None = None
    entry: audit.AuditRecord | None = None


@dataclass(frozen=True)
class _Prepared:
    attempt: Attempt
    decision: PolicyDecision
    reserved: bool  # False when blocked
    outcome: Outcome = "blocked"
    rule: str = ""  # the rule that blocked it


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
        self.secret = secret
        self.dkim = dkim
        self.on_rejection = on_rejection
        self._deciding = GroupCommit(self._decide_batch)
        self._recording = GroupCommit(self._record_delivered)

    async def send(self, user_id: int, request: SendRequest) -> SendResult:
        if self.transport is None:
            raise NotConfigured(f"SMTP is not usable: {self.transport_problem or 'set SMTP_HOST'}")
        if len(request.body) > MAX_BODY_CHARS:
            raise InvalidInput("body", f"must be at most {MAX_BODY_CHARS} characters")
        self._check_headers(request)
        prepared = await self._deciding.submit((user_id, request))
        attempt, decision = prepared.attempt, prepared.decision
        if not prepared.reserved:
            metrics.BLOCKS.labels(prepared.rule).inc()
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
            attempt = await self._recording.submit(attempt)
        metrics.SENDS.labels("sent").inc()
        log.info("send", attempt_id=attempt.id, outcome="sent")
        return SendResult("sent", attempt, decision)

    async def _decide_batch(
        self, items: list[tuple[int, SendRequest]]
    ) -> list[_Prepared | BaseException]:
        """Decide every request with one read and one write transaction."""
        try:
            # The policy reads are advisory (the reservations decide), so they run
            # before the write transaction: on SQLite they do not hold the write lock.
            async with self.db.read() as session:
                decided, plans = await self._read(session, items)
            if not plans:  # every request refused before writing (unknown lead, bad sender)
                return [decided[i] for i in range(len(items))]
            async with self.db.transaction() as session:
                # Inserts first, reservations last: on PostgreSQL the reservations
                # lock the user's counter row until commit, and every other batch
                # (on any worker) waits for it. Plans are in user order, so that
                # every batch takes those locks in the same order.
                rows = [self._attempt_row(plan) for plan in plans]
                for plan, attempt in zip(
                    plans, await attempts.insert_attempts(session, rows), strict=True
                ):
                    plan.attempt = attempt
                for plan in plans:
                    decided[plan.index] = await self._reserve(session, plan)
                await webhook_events.decided(session, [decided[plan.index] for plan in plans])
                await audit.append_many(session, [plan.entry for plan in plans if plan.entry])
            return [decided[i] for i in range(len(items))]
        except Exception:
            if len(items) == 1:
                raise
            # The shared transaction rolled back as a whole: decide each request
            # alone, so that whatever broke fails only its own request.
            return [await self._decide_alone(item) for item in items]

    async def _decide_alone(self, item: tuple[int, SendRequest]) -> _Prepared | BaseException:
        try:
            return (await self._decide_batch([item]))[0]
        except Exception as exc:
            return exc

    async def _read(
        self, session: AsyncSession, items: list[tuple[int, SendRequest]]
    ) -> tuple[dict[int, _Prepared | BaseException], list[_Plan]]:
        """Leads and policy decisions of a batch, with four queries; writes nothing.

        Returns the requests refused already (unknown lead, no address, bad
        sender) by position, and a plan for each of the others, in user order.
        """
        refused: dict[int, _Prepared | BaseException] = {}
        refs = [(user_id, r.campaign_id, r.lead_id) for user_id, r in items]
        leads = await campaigns.lead_contacts(session, refs)
        found: list[tuple[int, LeadContact]] = []
        for index, ref in enumerate(refs):
            lead = leads.get(ref)
            if lead is None:
                _, campaign_id, lead_id = ref
                refused[index] = NotFound(f"lead {lead_id} not found in campaign {campaign_id}")
            elif not lead.contact_email:
                refused[index] = InvalidInput("lead_id", f"lead {lead.id} has no contact email")
            else:
                found.append((index, lead))
        now = utcnow()
        checks = [
            policy_check.CheckRequest(
                user_id=items[index][0],
                recipient=lead.contact_email or "",
                requested_sender=items[index][1].sender_email,
                subject=items[index][1].subject,
                consent_recorded=lead.consent_recorded_at is not None,
            )
            for index, lead in found
        ]
        decisions = await policy_check.check_many(session, checks, settings=self.policy, now=now)
        plans = []
        for (index, lead), decision in zip(found, decisions, strict=True):
            if isinstance(decision, ServiceError):
                refused[index] = decision
            else:
                user_id, request = items[index]
                plans.append(_Plan(index, user_id, request, lead, decision, now))
        plans.sort(key=lambda plan: plan.user_id)
        return refused, plans

    def _attempt_row(self, plan: _Plan) -> dict[str, Any]:
        """The attempt row: `blocked` by policy, or `sending` with its Message-ID."""
        values = _attempt_values(plan, self.owner)
        if plan.decision.allowed:
            values["status"] = AttemptStatus.SENDING.value
            values["message_id"] = make_message_id(plan.decision.sender.effective)
        else:
            values["status"] = AttemptStatus.BLOCKED.value
            values["message_id"] = None
        return values

    async def _reserve(self, session: AsyncSession, plan: _Plan) -> _Prepared:
        """Reserve both cap slots and the idempotency key (all or none), or explain the block.

        The policy reads were advisory: they may predate an earlier request of
        the same batch, or another worker's commit. The conditional upserts
        here decide, and a lost race becomes a block like any other.
        """
        attempt, decision, request = plan.attempt, plan.decision, plan.request
        assert attempt is not None
        if not decision.allowed:
            rule = decision.blocked_by or "unknown"
            in_flight = rule == "idempotency" and decision.duplicate == "in_flight"
            plan.entry = _blocked_entry(attempt, decision, request, decision.reason, rule)
            outcome: Outcome = "in_flight" if in_flight else "blocked"
            return _Prepared(attempt, decision, False, outcome, rule)
        day = counter_day(plan.now, self.policy.timezone).isoformat()
        # All or nothing without a savepoint (two more statements per send, inside
        # the lock): each refused step gives back what the earlier ones took.
        reservation = await counters.reserve_slots(
            session,
            user_id=plan.user_id,
            domain=decision.registrable_domain,
            day=day,
            user_cap=self.policy.user_cap,
            domain_cap=self.policy.domain_cap,
        )
        if not reservation.ok:
            rule = "daily_user_cap" if reservation.blocked_by == "user" else "daily_domain_cap"
            return await self._refused(session, plan, rule)
        await send_key_purge.purge_expired_if_due(session)
        if not await send_keys.try_reserve(
            session, user_id=plan.user_id, key_hash=decision.idempotency_key, attempt_id=attempt.id
        ):
            await counters.release_slots(
                session, user_id=plan.user_id, domain=decision.registrable_domain, day=day
            )
            return await self._refused(session, plan, "idempotency")
        plan.entry = policy_check.audit_record(
            decision,
            user_id=plan.user_id,
            subject=request.subject,
            attempt_id=attempt.id,
            extra={"message_id": attempt.message_id},
        )
        return _Prepared(attempt, decision, reserved=True)

    async def _refused(self, session: AsyncSession, plan: _Plan, rule: CheckName) -> _Prepared:
        """A reservation lost a race that the policy reads could not see."""
        attempt, decision = plan.attempt, plan.decision
        assert attempt is not None
        in_flight = False
        if rule == "idempotency":
            # The key may be another user's: say nothing about whose it is.
            state = await send_keys.duplicate_state(session, decision.idempotency_key)
            in_flight = state != "sent"
            reason = (
                "Already sent to this recipient with this subject from this sender address"
                " within 24 h"
                if state == "sent"
                else "An identical send to this recipient from this sender address is in progress"
            )
        elif rule == "daily_user_cap":
            cap = self.policy.user_cap
            reason = f"Daily sending limit reached: {cap}/{cap} today"
        else:
            cap = self.policy.domain_cap
            reason = (
                f"Daily limit for recipient domain {decision.registrable_domain} reached:"
                f" {cap}/{cap} today"
            )
        plan.decision = decision = refused(decision, rule, reason)
        checks = json.dumps(policy_check.checks_payload(decision))
        await attempts.mark_blocked(session, attempt_id=attempt.id, reason=reason, checks=checks)
        attempt.status = AttemptStatus.BLOCKED.value
        attempt.reason, attempt.checks, attempt.message_id = reason, checks, None
        plan.entry = _blocked_entry(attempt, decision, plan.request, reason, rule)
        return _Prepared(attempt, decision, False, "in_flight" if in_flight else "blocked", rule)

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
            await webhook_events.attempt_changed(
                session, attempt, "failed", reason=webhook_events.UNBUILT
            )

    async def _record_delivered(self, delivered: list[Attempt]) -> list[Attempt]:
        """Attempts accepted by SMTP: `sent`, key used, lead contacted (one transaction)."""
        now = utcnow()
        # Id order: batches on several PostgreSQL workers then lock rows in one order.
        ordered = sorted(delivered, key=lambda a: a.id)
        async with self.db.transaction() as session:
            await webhook_events.delivered(session, ordered, reason=DELIVERED)
            await attempts.mark_delivered(session, ordered, reason=DELIVERED, now=now)
            await send_keys.mark_used(session, attempt_ids=[a.id for a in ordered])
        for attempt in delivered:
            attempt.status, attempt.sent_at, attempt.reason = (
                AttemptStatus.SENT.value,
                now,
                DELIVERED,
            )
        return delivered

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
                row.reason = f"Delivery outcome unknown: {explain(error)}; resolve it manually"
                await webhook_events.attempt_changed(session, row, row.status)
                return row
            row.status = AttemptStatus.FAILED.value
            row.reason = f"SMTP delivery failed: {explain(error)}"
            await send_keys.release(session, attempt_id=row.id)
            await webhook_events.attempt_changed(session, row, row.status)
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


class RejectionHook(Protocol):
    async def __call__(
        self, session: AsyncSession, attempt: Attempt, error: DeliveryError
    ) -> None: ...


def _attempt_values(plan: _Plan, owner: str) -> dict[str, Any]:
    decision, lead = plan.decision, plan.lead
    return {
        "user_id": plan.user_id,
        "campaign_id": lead.campaign_id,
        "lead_id": lead.id,
        "recipient_email": decision.recipient_email,
        "recipient_domain": decision.registrable_domain,
        "sender_email": decision.sender.effective,
        "requested_sender_email": decision.sender.requested,
        "subject": plan.request.subject,
        "legal_basis": decision.legal_basis,
        "region": decision.region,
        "reason": decision.reason,
        "checks": json.dumps(policy_check.checks_payload(decision)),
        "idempotency_key": decision.idempotency_key,
        "owner": owner,
    }


def _blocked_entry(
    attempt: Attempt, decision: PolicyDecision, request: SendRequest, reason: str, rule: str
) -> audit.AuditRecord:
    return policy_check.audit_record(
        decision,
        user_id=attempt.user_id,
        subject=request.subject,
        attempt_id=attempt.id,
        result="blocked",
        reason=reason,
        extra={"blocked_by": rule},
    )
