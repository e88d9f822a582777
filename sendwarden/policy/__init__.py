"""Pure policy core of Sendwarden (product.md §3): no I/O, no database, no network."""

from sendwarden.policy.addresses import (
    InvalidAddress,
    address_key,
    domain_of,
    mailbox_key,
    normalize_domain,
    normalize_email,
    public_suffix,
    registrable_domain,
)
from sendwarden.policy.day import counter_day, validate_timezone
from sendwarden.policy.duplicates import Duplicate, duplicate_key, normalize_subject
from sendwarden.policy.region import LegalBasis, RegionInfo, infer_region
from sendwarden.policy.rules import (
    Check,
    CheckName,
    PolicyDecision,
    PolicyInputs,
    SuppressionHit,
    evaluate,
    lost_race,
    refused,
)
from sendwarden.policy.sender import SenderDecision, resolve_sender

__all__ = [
    "lost_race",
    "refused",
    "Check",
    "CheckName",
    "Duplicate",
    "InvalidAddress",
    "LegalBasis",
    "PolicyDecision",
    "PolicyInputs",
    "RegionInfo",
    "SenderDecision",
    "SuppressionHit",
    "address_key",
    "counter_day",
    "domain_of",
    "evaluate",
    "duplicate_key",
    "infer_region",
    "mailbox_key",
    "normalize_domain",
    "normalize_email",
    "normalize_subject",
    "public_suffix",
    "registrable_domain",
    "resolve_sender",
    "validate_timezone",
]
