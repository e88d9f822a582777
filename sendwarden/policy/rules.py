"""The policy decision (§3): a pure function of what the storage layer read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from sendwarden.policy.addresses import domain_of, normalize_email, registrable_domain
from sendwarden.policy.duplicates import Duplicate, duplicate_key
from sendwarden.policy.region import LegalBasis, RegionInfo, infer_region
from sendwarden.policy.sender import SenderDecision

CheckName = Literal[
    "sender_alias",
    "suppression",
    "idempotency",
    "daily_user_cap",
    "daily_domain_cap",
    "legal_basis",
]


@dataclass(frozen=True)
class Check:
    name: CheckName
    passed: bool
    detail: str


@dataclass(frozen=True)
class SuppressionHit:
    value: str
    kind: Literal["email", "domain"]
    scope: Literal["user", "global"]
    reason: str | None


@dataclass(frozen=True)
class PolicyInputs:
    """Everything the storage layer read for one policy check."""

    recipient_email: str
    sender: SenderDecision
    subject: str | None
    user_count: int
    user_cap: int
    domain_count: int
    domain_cap: int
    suppression: SuppressionHit | None
    duplicate: Duplicate
    require_consent: bool
    consent_recorded: bool | None  # None: no lead context (dry-run validate without a lead)

    def __post_init__(self) -> None:
        for field in ("user_count", "user_cap", "domain_count", "domain_cap"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field} must not be negative, got {getattr(self, field)}")


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    reason: str
    checks: tuple[Check, ...]
    legal_basis: LegalBasis
    region: str
    recipient_email: str
    recipient_domain: str
    registrable_domain: str
    sender: SenderDecision
    duplicate_key: str
    user_count: int
    user_cap: int
    domain_count: int
    domain_cap: int
    duplicate: Duplicate = None  # what the idempotency read found

    @property
    def blocked_by(self) -> CheckName | None:
        """Name of the first failing check, or None when the send is allowed."""
        return next((check.name for check in self.checks if not check.passed), None)


def _sender_check(sender: SenderDecision) -> Check:
    # Never blocks: a disallowed alias falls back to the default sender instead.
    return Check("sender_alias", True, sender.reason)


def _suppression_check(recipient: str, hit: SuppressionHit | None) -> Check:
    if hit is None:
        return Check("suppression", True, f"Recipient {recipient} is not on any suppression list")
    matched = f"{hit.value} ({hit.kind}, {hit.scope})"
    why = f": {hit.reason}" if hit.reason else ""
    return Check("suppression", False, f"Recipient {recipient} is suppressed by {matched}{why}")


def _idempotency_check(recipient: str, sender: str, duplicate: Duplicate) -> Check:
    if duplicate == "sent":
        detail = f"Already sent to {recipient} with this subject from {sender} within 24 h"
        return Check("idempotency", False, detail)
    if duplicate == "in_flight":
        detail = f"An identical send to {recipient} from {sender} is in progress"
        return Check("idempotency", False, detail)
    return Check("idempotency", True, "No identical send within the last 24 h")


def _user_cap_check(count: int, cap: int) -> Check:
    if count >= cap:
        return Check("daily_user_cap", False, f"Daily sending limit reached: {count}/{cap} today")
    return Check("daily_user_cap", True, f"Daily sending limit not reached: {count}/{cap} today")


def _domain_cap_check(domain: str, count: int, cap: int) -> Check:
    if count >= cap:
        detail = f"Daily limit for recipient domain {domain} reached: {count}/{cap} today"
        return Check("daily_domain_cap", False, detail)
    detail = f"Daily limit for recipient domain {domain} not reached: {count}/{cap} today"
    return Check("daily_domain_cap", True, detail)


def _legal_basis_check(info: RegionInfo, require_consent: bool, recorded: bool | None) -> Check:
    basis = f"region {info.region} (.{info.public_suffix})"
    if info.legal_basis == "legitimate_interest":
        return Check("legal_basis", True, f"Legitimate interest applies for {basis}")
    if not require_consent:
        detail = f"Consent is the legal basis for {basis}; strict consent mode is off"
        return Check("legal_basis", True, detail)
    if recorded is None:
        detail = (
            f"Consent is the legal basis for {basis}; "
            "the lead's consent must be on record at send time"
        )
        return Check("legal_basis", True, detail)
    if recorded:
        detail = f"Consent is the legal basis for {basis} and the lead's consent is on record"
        return Check("legal_basis", True, detail)
    detail = (
        f"Consent is required for {basis} (strict consent mode) "
        "but the lead has no recorded consent"
    )
    return Check("legal_basis", False, detail)


def evaluate(inputs: PolicyInputs) -> PolicyDecision:
    """Run every check (all six, always, in a fixed order) and combine them."""
    recipient = normalize_email(inputs.recipient_email)
    recipient_domain = domain_of(recipient)
    registrable = registrable_domain(recipient_domain)
    region = infer_region(recipient_domain)
    sender = inputs.sender.effective
    checks = (
        _sender_check(inputs.sender),
        _suppression_check(recipient, inputs.suppression),
        _idempotency_check(recipient, sender, inputs.duplicate),
        _user_cap_check(inputs.user_count, inputs.user_cap),
        _domain_cap_check(registrable, inputs.domain_count, inputs.domain_cap),
        _legal_basis_check(region, inputs.require_consent, inputs.consent_recorded),
    )
    failed = next((check for check in checks if not check.passed), None)
    return PolicyDecision(
        allowed=failed is None,
        reason="All checks passed" if failed is None else failed.detail,
        checks=checks,
        legal_basis=region.legal_basis,
        region=region.region,
        recipient_email=recipient,
        recipient_domain=recipient_domain,
        registrable_domain=registrable,
        sender=inputs.sender,
        duplicate_key=duplicate_key(sender, recipient, inputs.subject),
        user_count=inputs.user_count,
        user_cap=inputs.user_cap,
        domain_count=inputs.domain_count,
        domain_cap=inputs.domain_cap,
        duplicate=inputs.duplicate,
    )


def refused(decision: PolicyDecision, rule: CheckName, detail: str) -> PolicyDecision:
    """An allowed decision whose reservation lost a race: `rule` fails after all.

    The policy reads are advisory (another request may reserve in between);
    the atomic reservation is the final word, and the explanation must agree.
    """
    checks = tuple(
        Check(rule, False, detail) if check.name == rule else check for check in decision.checks
    )
    return replace(decision, allowed=False, reason=detail, checks=checks)


def lost_race(decision: PolicyDecision, rule: CheckName, duplicate: Duplicate) -> PolicyDecision:
    """`refused`, explained: the reservation of `rule` failed although the reads allowed it.

    A cap is then exactly full. A duplicate key may be another user's: the
    explanation names neither the recipient nor the sender (nor whose it is).
    """
    if rule == "daily_user_cap":
        detail = _user_cap_check(decision.user_cap, decision.user_cap).detail
    elif rule == "daily_domain_cap":
        cap = decision.domain_cap
        detail = _domain_cap_check(decision.registrable_domain, cap, cap).detail
    elif duplicate == "sent":
        detail = (
            "Already sent to this recipient with this subject from this sender address within 24 h"
        )
    else:
        detail = "An identical send to this recipient from this sender address is in progress"
    return refused(decision, rule, detail)
