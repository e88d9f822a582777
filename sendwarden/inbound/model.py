"""Value types for parsed inbound mail (bounces, complaints, replies, auto-replies)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InboundKind(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"  # a mail to our List-Unsubscribe mailto target
    OTHER = "other"


class BounceClass(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    SENDER_BLOCK = "sender_block"
    NOT_A_FAILURE = "not_a_failure"  # delivered / relayed / expanded


class ReplyClass(StrEnum):
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    UNSUBSCRIBE_REQUEST = "unsubscribe_request"
    OUT_OF_OFFICE = "out_of_office"
    REPLIED = "replied"


SUPPRESSING_REPLY_CLASSES: frozenset[ReplyClass] = frozenset(
    {ReplyClass.NOT_INTERESTED, ReplyClass.UNSUBSCRIBE_REQUEST}
)


@dataclass(frozen=True)
class BounceRecipient:
    recipient: str
    action: str | None
    status: str | None
    diagnostic: str | None
    classification: BounceClass


@dataclass(frozen=True)
class ParsedInbound:
    kind: InboundKind
    message_id: str | None
    from_address: str | None
    subject: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    original_message_id: str | None
    bounces: tuple[BounceRecipient, ...] = ()
    complaint_recipient: str | None = None
    # The token of our mailto target ("unsubscribe <token>" subject), when present.
    unsubscribe_token: str | None = None
    reply_text: str | None = None
    reply_class: ReplyClass | None = None
    reply_original: str | None = None  # the body before quotes and signature were stripped


class InboundParseError(ValueError):
    """The bytes are not a usable email message (empty, no header section, ...)."""
