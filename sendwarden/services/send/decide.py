"""Decide stage: policy reads, then one transaction that writes each request's attempt
and either blocks it or reserves both cap slots and the duplicate key (all or none).

Group-committed (services.group_commit): concurrent sends share this transaction.
Within it requests are taken in user order, and each takes its user's counter row
before anything else it locks, so that batches on several PostgreSQL workers always
lock in the same order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import CheckName, PolicyDecision, counter_day, lost_race
from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import InvalidInput, KeyRevoked, NotFound, ServiceError
from sendwarden.services.send.model import Outcome, SendRequest
from sendwarden.storage import (
    attempts,
    audit,
    campaigns,
    daily_caps,
    duplicate_key_purge,
    duplicate_keys,
    reservations,
    users,
)
from sendwarden.storage.campaigns import LeadContact
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, AttemptStatus
from sendwarden.storage.types import utcnow
from sendwarden.transport.message import make_message_id
from sendwarden.webhooks import emit as webhook_events

Item = tuple[int, SendRequest]  # (user id, request)


@dataclass(frozen=True)
class Planned:
    """A request past its policy reads: its lead and the advisory decision."""

    index: int  # position in the batch
    user_id: int
    request: SendRequest
    lead: LeadContact
    decision: PolicyDecision
    now: datetime


@dataclass(frozen=True)
class Decided:
    """The final word on a request: blocked, or reserved and ready to compose."""

    attempt: Attempt
    decision: PolicyDecision
    reserved: bool  # False when blocked
    entry: audit.AuditRecord
    outcome: Outcome = "blocked"
    rule: str = ""  # the rule that blocked it


class Decider:
    def __init__(self, *, db: Database, policy: PolicySettings, owner: str) -> None:
        self.db = db
        self.policy = policy
        self.owner = owner  # whose in-flight attempts these are, for crash recovery

    async def decide_batch(self, items: list[Item]) -> list[Decided | BaseException]:
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
                inserted = await attempts.insert_attempts(session, rows)
                pairs = list(zip(plans, inserted, strict=True))
                together = await self._reserve_all(session, pairs)
                outcomes = [
                    self._reserved(plan, attempt)
                    if together and plan.decision.allowed
                    else await self._reserve(session, plan, attempt)
                    for plan, attempt in pairs
                ]
                await webhook_events.decided(session, outcomes)
                await audit.append_many(session, [outcome.entry for outcome in outcomes])
            for plan, outcome in zip(plans, outcomes, strict=True):
                decided[plan.index] = outcome
            return [decided[i] for i in range(len(items))]
        except Exception:
            if len(items) == 1:
                raise
            # The shared transaction rolled back as a whole: decide each request
            # alone, so that whatever broke fails only its own request.
            return [await self._decide_alone(item) for item in items]

    async def _decide_alone(self, item: Item) -> Decided | BaseException:
        try:
            return (await self.decide_batch([item]))[0]
        except Exception as exc:
            return exc

    async def _read(
        self, session: AsyncSession, items: list[Item]
    ) -> tuple[dict[int, Decided | BaseException], list[Planned]]:
        """Leads and policy decisions of a batch, with five queries; writes nothing.

        Returns the requests refused already (revoked API key, unknown lead, no
        address, bad sender) by position, and a plan for each of the others, in
        user order.
        """
        refused: dict[int, Decided | BaseException] = {}
        claimed = [r.api_key_id for _, r in items if r.api_key_id is not None]
        active = await users.active_key_ids(session, claimed)
        refs = [(user_id, r.campaign_id, r.lead_id) for user_id, r in items]
        leads = await campaigns.lead_contacts(session, refs)
        found: list[tuple[int, LeadContact]] = []
        for index, ref in enumerate(refs):
            lead = leads.get(ref)
            key_id = items[index][1].api_key_id
            if key_id is not None and key_id not in active:
                refused[index] = KeyRevoked("Invalid or revoked API key")
            elif lead is None:
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
                plans.append(Planned(index, user_id, request, lead, decision, now))
        plans.sort(key=lambda plan: plan.user_id)
        return refused, plans

    def _attempt_row(self, plan: Planned) -> dict[str, Any]:
        """The attempt row: `blocked` by policy, or `sending` with its Message-ID."""
        decision, lead = plan.decision, plan.lead
        allowed = decision.allowed
        return {
            "user_id": plan.user_id,
            "campaign_id": lead.campaign_id,
            "lead_id": lead.id,
            "recipient_email": decision.recipient_email,
            "registrable_domain": decision.registrable_domain,
            "sender_email": decision.sender.effective,
            "requested_sender_email": decision.sender.requested,
            "subject": plan.request.subject,
            "legal_basis": decision.legal_basis,
            "region": decision.region,
            "reason": decision.reason,
            "checks": json.dumps(policy_check.checks_payload(decision)),
            "duplicate_key": decision.duplicate_key,
            "owner": self.owner,
            "status": (AttemptStatus.SENDING if allowed else AttemptStatus.BLOCKED).value,
            "message_id": make_message_id(decision.sender.effective) if allowed else None,
        }

    async def _reserve_all(
        self, session: AsyncSession, pairs: list[tuple[Planned, Attempt]]
    ) -> bool:
        """Reserve every allowed request of the batch at once, or nothing (see
        storage.reservations); True when they all got their slots and keys."""
        allowed = [(plan, attempt) for plan, attempt in pairs if plan.decision.allowed]
        days = {counter_day(plan.now, self.policy.timezone).isoformat() for plan, _ in allowed}
        if len(days) != 1:
            return False
        wanted = [
            reservations.Wanted(
                plan.user_id,
                plan.decision.registrable_domain,
                plan.decision.duplicate_key,
                attempt.id,
            )
            for plan, attempt in allowed
        ]
        return await reservations.reserve_all(
            session,
            wanted,
            day=days.pop(),
            user_cap=self.policy.user_cap,
            domain_cap=self.policy.domain_cap,
        )

    async def _reserve(self, session: AsyncSession, plan: Planned, attempt: Attempt) -> Decided:
        """Reserve both cap slots and the duplicate key (all or none), or explain the block.

        The policy reads were advisory: they may predate an earlier request of
        the same batch, or another worker's commit. The conditional upserts
        here decide, and a lost race becomes a block like any other.
        """
        decision = plan.decision
        if not decision.allowed:
            rule = decision.blocked_by or "unknown"
            in_flight = rule == "idempotency" and decision.duplicate == "in_flight"
            entry = _blocked_entry(attempt, decision, plan.request, rule)
            return Decided(attempt, decision, False, entry, _outcome(in_flight), rule)
        day = counter_day(plan.now, self.policy.timezone).isoformat()
        # All or nothing without a savepoint (two more statements per send, inside
        # the lock): each refused step gives back what the earlier ones took.
        reservation = await daily_caps.reserve_slots(
            session,
            user_id=plan.user_id,
            domain=decision.registrable_domain,
            day=day,
            user_cap=self.policy.user_cap,
            domain_cap=self.policy.domain_cap,
        )
        if not reservation.ok:
            rule = "daily_user_cap" if reservation.blocked_by == "user" else "daily_domain_cap"
            return await _lost_race(session, plan, attempt, rule)
        await duplicate_key_purge.purge_expired_if_due(session)
        if not await duplicate_keys.try_reserve(
            session, user_id=plan.user_id, key_hash=decision.duplicate_key, attempt_id=attempt.id
        ):
            await daily_caps.release_slots(
                session, user_id=plan.user_id, domain=decision.registrable_domain, day=day
            )
            return await _lost_race(session, plan, attempt, "idempotency")
        return self._reserved(plan, attempt)

    def _reserved(self, plan: Planned, attempt: Attempt) -> Decided:
        entry = policy_check.audit_record(
            plan.decision,
            user_id=plan.user_id,
            subject=plan.request.subject,
            attempt_id=attempt.id,
            extra={"message_id": attempt.message_id},
        )
        return Decided(attempt, plan.decision, True, entry, outcome="sent")


async def _lost_race(
    session: AsyncSession, plan: Planned, attempt: Attempt, rule: CheckName
) -> Decided:
    """A reservation lost a race that the policy reads could not see: block the attempt."""
    duplicate = None
    if rule == "idempotency":
        # The key may be another user's: lost_race says nothing about whose it is.
        duplicate = await duplicate_keys.duplicate_state(session, plan.decision.duplicate_key)
    decision = lost_race(plan.decision, rule, duplicate)
    checks = json.dumps(policy_check.checks_payload(decision))
    await attempts.mark_blocked(
        session, attempt_id=attempt.id, reason=decision.reason, checks=checks
    )
    attempt.status = AttemptStatus.BLOCKED.value
    attempt.reason, attempt.checks, attempt.message_id = decision.reason, checks, None
    entry = _blocked_entry(attempt, decision, plan.request, rule)
    in_flight = rule == "idempotency" and duplicate != "sent"
    return Decided(attempt, decision, False, entry, _outcome(in_flight), rule)


def _outcome(in_flight: bool) -> Outcome:
    return "in_flight" if in_flight else "blocked"


def _blocked_entry(
    attempt: Attempt, decision: PolicyDecision, request: SendRequest, rule: str
) -> audit.AuditRecord:
    return policy_check.audit_record(
        decision,
        user_id=attempt.user_id,
        subject=request.subject,
        attempt_id=attempt.id,
        result="blocked",
        reason=decision.reason,
        extra={"blocked_by": rule},
    )
