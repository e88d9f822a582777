"""Reads what the pure policy core needs from storage, evaluates, and audits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import (
    InvalidAddress,
    PolicyDecision,
    PolicyInputs,
    SuppressionHit,
    counter_day,
    domain_of,
    duplicate_key,
    evaluate,
    mailbox_key,
    normalize_email,
    registrable_domain,
    resolve_sender,
)
from sendwarden.policy.sender import SenderDecision
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import InvalidInput, NotConfigured, ServiceError
from sendwarden.storage import audit, daily_caps, duplicate_keys, suppression
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


def _hit(row: suppression.Match) -> SuppressionHit:
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


@dataclass(frozen=True)
class CheckRequest:
    """One prospective send to evaluate."""

    user_id: int
    recipient: str
    requested_sender: str | None
    subject: str | None
    consent_recorded: bool | None  # None: no lead context (dry-run validate without a lead)


@dataclass(frozen=True)
class _Keys:
    """What a request is looked up by, computed before any read."""

    request: CheckRequest
    sender: SenderDecision
    registrable: str
    duplicate_key: str
    lookup: suppression.Lookup


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
    request = CheckRequest(user_id, recipient, requested_sender, subject, consent_recorded)
    [outcome] = await check_many(session, [request], settings=settings, now=now)
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


async def check_many(
    session: AsyncSession,
    requests: Sequence[CheckRequest],
    *,
    settings: PolicySettings,
    now: datetime | None = None,
) -> list[PolicyDecision | ServiceError]:
    """`check` for each request, reading storage with three queries for all of them.

    A request with a bad sender or recipient gets its InvalidInput in its place.
    """
    default_sender = settings.default_sender
    if default_sender is None:
        raise NotConfigured("SMTP_FROM_EMAIL is not configured; set it to the default sender")
    now = now or utcnow()
    day = counter_day(now, settings.timezone).isoformat()
    keyed = [_keys(r, settings, default_sender) for r in requests]
    valid = [k for k in keyed if isinstance(k, _Keys)]
    counts = await daily_caps.read_many(
        session,
        user_ids=[k.request.user_id for k in valid],
        domains=[k.registrable for k in valid],
        day=day,
    )
    hits = await suppression.matching_many(session, [k.lookup for k in valid])
    first_hit = {id(k): found[0] if found else None for k, found in zip(valid, hits, strict=True)}
    duplicates = await duplicate_keys.duplicate_states(
        session, [k.duplicate_key for k in valid], now
    )
    decisions: list[PolicyDecision | ServiceError] = []
    for k in keyed:
        if not isinstance(k, _Keys):
            decisions.append(k)
            continue
        user_id, hit = k.request.user_id, first_hit[id(k)]
        inputs = PolicyInputs(
            recipient_email=k.request.recipient,
            sender=k.sender,
            subject=k.request.subject,
            user_count=counts.get((user_id, "user", daily_caps.USER_SCOPE_KEY), 0),
            user_cap=settings.user_cap,
            domain_count=counts.get((user_id, "domain", k.registrable), 0),
            domain_cap=settings.domain_cap,
            suppression=_hit(hit) if hit is not None else None,
            duplicate=duplicates.get(k.duplicate_key),
            require_consent=settings.require_consent,
            consent_recorded=k.request.consent_recorded,
        )
        decisions.append(evaluate(inputs))
    return decisions


def _keys(request: CheckRequest, settings: PolicySettings, default: str) -> _Keys | ServiceError:
    try:
        sender = resolve_sender(request.requested_sender, settings.allowed_sender_patterns, default)
    except InvalidAddress as exc:
        return InvalidInput("sender_email", str(exc))
    try:
        domain = domain_of(request.recipient)
        return _Keys(
            request,
            sender,
            registrable_domain(domain),
            duplicate_key(sender.effective, request.recipient, request.subject),
            suppression.Lookup(
                request.user_id, mailbox_key(request.recipient), candidate_domains(domain)
            ),
        )
    except InvalidAddress as exc:
        return InvalidInput("recipient_email", str(exc))


def checks_payload(decision: PolicyDecision) -> list[dict[str, Any]]:
    # Not dataclasses.asdict: its recursive deep copy was 4 % of a validate's CPU.
    return [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in decision.checks]


def decision_payload(decision: PolicyDecision) -> dict[str, Any]:
    """A decision as the HTTP API and the CLI show it: the original spec's fields first."""
    return {
        "allowed": decision.allowed,
        "reason": decision.reason,
        "legal_basis": decision.legal_basis,
        "daily_user_count": decision.user_count,
        "daily_user_limit": decision.user_cap,
        "daily_domain_count": decision.domain_count,
        "daily_domain_limit": decision.domain_cap,
        "region": decision.region,
        "checks": checks_payload(decision),
        "effective_sender_email": decision.sender.effective,
        "requested_sender_email": decision.sender.requested,
        "recipient_email": decision.recipient_email,
        "registrable_domain": decision.registrable_domain,
    }


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


async def record_validation(
    session: AsyncSession, decision: PolicyDecision, *, user_id: int, subject: str | None
) -> None:
    """Audit a dry-run check (call last in the transaction: it serialises writers)."""
    entry = audit_record(
        decision, user_id=user_id, subject=subject, attempt_id=None, event="policy_validate"
    )
    await audit.append(session, entry)
