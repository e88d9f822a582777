"""What a failed delivery does (product.md §6), as a pure rule.

Input: how the failure was classified (hard / soft / sender_block / not_a_failure),
its status code, and how many soft bounces the recipient had in the window
(including this one). Output: one effect and a sentence saying why. Parsing and
classification live in sendwarden.inbound; storage and side effects in the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=7)


class BounceEffect(StrEnum):
    SUPPRESS = "suppress"  # the recipient's address is bad: never send again
    SOFT_COUNT = "soft_count"  # temporary: counted toward the soft-bounce limit
    SENDER_INCIDENT = "sender_incident"  # our side was refused: recipient untouched
    NONE = "none"  # not a failure (delivered, relayed, expanded)


@dataclass(frozen=True)
class BounceDecision:
    effect: BounceEffect
    reason: str  # short, for the suppression entry / audit log
    explanation: str  # why, for GET /bounces and GET /sender-incidents


def decide_bounce(
    classification: str, status: str | None, soft_bounces_in_window: int = 0
) -> BounceDecision:
    code = status or "no status code"
    if classification == "hard":
        return BounceDecision(
            BounceEffect.SUPPRESS,
            f"Hard bounce ({status or 'permanent failure'})",
            f"{code}: permanent failure of the recipient's address (hard bounce);"
            " the recipient is suppressed",
        )
    if classification == "sender_block":
        return BounceDecision(
            BounceEffect.SENDER_INCIDENT,
            "Rejected for a policy or reputation reason on OUR side",
            f"{code}: a policy, reputation or content block against the sender;"
            " the recipient is not suppressed",
        )
    if classification == "soft":
        if soft_bounces_in_window >= SOFT_BOUNCE_LIMIT:
            return BounceDecision(
                BounceEffect.SUPPRESS,
                f"{SOFT_BOUNCE_LIMIT} soft bounces within {SOFT_BOUNCE_WINDOW.days} days",
                f"{code}: temporary failure number {soft_bounces_in_window} within"
                f" {SOFT_BOUNCE_WINDOW.days} days (limit {SOFT_BOUNCE_LIMIT}); suppressed",
            )
        return BounceDecision(
            BounceEffect.SOFT_COUNT,
            "Soft bounce",
            f"{code}: temporary failure number {soft_bounces_in_window} within"
            f" {SOFT_BOUNCE_WINDOW.days} days (suppressed at {SOFT_BOUNCE_LIMIT})",
        )
    return BounceDecision(BounceEffect.NONE, "Not a failure", f"{code}: not a delivery failure")
