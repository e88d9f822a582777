"""Reads what the pure policy core needs from storage, evaluates, and audits."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import (
    InvalidAddress,
    PolicyDecision,
    PolicyInputs,
    SuppressionHit,
    address_key,
    counter_day,
    domain_of,
    evaluate,
    idempotency_key,
    normalize_email,
    registrable_domain,
    resolve_sender,
)
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import InvalidInput, NotConfigured
from sendwarden.storage import audit, counters, send_keys, suppression
from sendwarden.storage.types import utcnow


def candidate_domains(domain: str) -> list[str]:
    """The recipient's domain and each parent down to its registrable domain."""
    registrable = registrable_domain(domain)
    labels = domain.split(".")
    found = []
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        found.append(candidate)
        if candidate == registrable:
            break
    if registrable not in found:
        found.append(registrable)
    return found


async def suppression_hit(
    session: AsyncSession, *, user_id: int, recipient: str
) -> SuppressionHit | None:
    rows = await suppression.matching(
        session,
        user_id=user_id,
        address=address_key(recipient),
        domains=candidate_domains(domain_of(recipient)),
    )
    if not rows:
        return None
    row = rows[0]
    return SuppressionHit(
        value=row.value,
        kind="email" if row.kind == "email" else "domain",
        scope="global" if row.user_id is None else "user",
        reason=row.reason,
    )


def parse_recipient(raw: str, field: str = "recipient_email") -> str:
    try:
        return normalize_email(raw)
    except InvalidAddress as exc:
        raise InvalidInput(field, str(exc)) from exc


async def check(
    session: AsyncSession,
    *,
    user_id: int,
    recipient: str,
    requested_sender: str | None,
    subject: str | None,
    consent_recorded: bool | None,
    settings: PolicySettings,
    now: datetime | None = None,
) -> PolicyDecision:
    """Evaluate every rule of product.md §3 for one prospective send (no writes)."""
    if settings.default_sender is None:
        raise NotConfigured("SMTP_FROM_EMAIL is not configured; set it to the default sender")
    try:
        sender = resolve_sender(
            requested_sender, settings.allowed_sender_patterns, settings.default_sender
        )
    except InvalidAddress as exc:
        raise InvalidInput("sender_email", str(exc)) from exc
    now = now or utcnow()
    day = counter_day(now, settings.timezone).isoformat()
    domain = registrable_domain(domain_of(recipient))
    key = idempotency_key(sender.effective, recipient, subject)
    user_count, domain_count = await counters.read_pair(session, user_id, domain, day)
    inputs = PolicyInputs(
        recipient_email=recipient,
        sender=sender,
        subject=subject,
        user_count=user_count,
        user_cap=settings.user_cap,
        domain_count=domain_count,
        domain_cap=settings.domain_cap,
        suppression=await suppression_hit(session, user_id=user_id, recipient=recipient),
        duplicate=await send_keys.duplicate_state(session, user_id, key, now),
        require_consent=settings.require_consent,
        consent_recorded=consent_recorded,
    )
    return evaluate(inputs)


def checks_payload(decision: PolicyDecision) -> list[dict[str, Any]]:
    return [asdict(c) for c in decision.checks]


def audit_record(
    decision: PolicyDecision,
    *,
    user_id: int,
    subject: str | None,
    attempt_id: int | None,
    event: str = "policy_check",
    result: str | None = None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> audit.AuditRecord:
    """The audit entry of one policy check."""
    return audit.AuditRecord(
        event=event,
        user_id=user_id,
        lead_email=decision.recipient_email,
        sender_email=decision.sender.effective,
        requested_sender_email=decision.sender.requested,
        subject=subject,
        policy_result=result or ("approved" if decision.allowed else "blocked"),
        reason=reason or decision.reason,
        legal_basis=decision.legal_basis,
        region=decision.region,
        attempt_id=attempt_id,
        details={
            "checks": checks_payload(decision),
            "sender_fell_back": decision.sender.fell_back,
            "registrable_domain": decision.registrable_domain,
            **(extra or {}),
        },
    )


async def record(
    session: AsyncSession,
    decision: PolicyDecision,
    *,
    user_id: int,
    subject: str | None,
    attempt_id: int | None,
    event: str = "policy_check",
    result: str | None = None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Audit one policy check (call last in the transaction: it serialises writers)."""
    await audit.append(
        session,
        audit_record(
            decision,
            user_id=user_id,
            subject=subject,
            attempt_id=attempt_id,
            event=event,
            result=result,
            reason=reason,
            extra=extra,
        ),
    )
