"""Sender alias resolution (§3.1): use the requested From address only if it is allowed."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from sendwarden.policy.addresses import InvalidAddress, normalize_email, to_a_label

_GLOB_CHARS = frozenset("*?[]")


@dataclass(frozen=True)
class SenderDecision:
    requested: str | None
    effective: str
    fell_back: bool
    reason: str


def _comparable_pattern(pattern: str) -> str:
    """Lower-case a pattern and put the literal labels of its domain in A-label form."""
    local, at, domain = pattern.strip().lower().rpartition("@")
    if not at:
        return domain  # a bare glob such as "*": no domain part to convert
    labels = domain.removesuffix(".").split(".")
    return f"{local}@{'.'.join(_comparable_label(label) for label in labels)}"


def _comparable_label(label: str) -> str:
    if not label or not _GLOB_CHARS.isdisjoint(label):
        return label
    try:
        return to_a_label(label)
    except InvalidAddress:
        return label  # cannot match any valid address anyway; keep it as written


def _matching_pattern(address: str, patterns: Sequence[str]) -> str | None:
    comparable = address.lower()
    for pattern in patterns:
        if pattern.strip() and fnmatch.fnmatchcase(comparable, _comparable_pattern(pattern)):
            return pattern.strip()
    return None


def resolve_sender(
    requested: str | None, allowed_patterns: Sequence[str], default_sender: str
) -> SenderDecision:
    """Decide which From address a send uses.

    `allowed_patterns` are addresses or globs ("*@example.com"), matched
    case-insensitively on the whole address. The default sender is always allowed.
    An invalid requested address raises InvalidAddress rather than falling back, so
    the caller can answer 422 instead of silently sending from another address. An
    invalid default sender raises InvalidAddress whose message starts "SMTP_FROM_EMAIL".
    """
    try:
        default = normalize_email(default_sender)
    except InvalidAddress as exc:
        raise InvalidAddress(f"SMTP_FROM_EMAIL is misconfigured: {exc}") from None
    if requested is None or not requested.strip():
        return SenderDecision(
            requested=None,
            effective=default,
            fell_back=False,
            reason="No sender requested; using default sender",
        )
    wanted = normalize_email(requested)
    if wanted.lower() == default.lower():
        return SenderDecision(
            requested=wanted,
            effective=wanted,
            fell_back=False,
            reason=f"Requested sender {wanted} is the default sender",
        )
    pattern = _matching_pattern(wanted, allowed_patterns)
    if pattern is not None:
        return SenderDecision(
            requested=wanted,
            effective=wanted,
            fell_back=False,
            reason=f"Requested sender {wanted} is allowed by SMTP_ALLOWED_FROM_EMAILS "
            f"entry {pattern!r}",
        )
    why = (
        "SMTP_ALLOWED_FROM_EMAILS is empty"
        if not any(p.strip() for p in allowed_patterns)
        else "it matches no entry of SMTP_ALLOWED_FROM_EMAILS"
    )
    return SenderDecision(
        requested=wanted,
        effective=default,
        fell_back=True,
        reason=f"Requested sender {wanted} is not allowed ({why}); "
        f"fell back to SMTP_FROM_EMAIL {default}",
    )
