"""Delivery status notifications: RFC 3464 reports, then the common non-standard texts.

The RFC 3464 fields are read with the standard `email` package. flufl.bounce finds the
failed addresses of many formats but reports no status codes, which the classification
(bounce_rules.py) depends on, so the non-standard texts are parsed here too (dsn_text.py).
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from email.parser import HeaderParser

from sendwarden.inbound.bounce_rules import classify_smtp_reply, classify_status, pick_code
from sendwarden.inbound.dsn_text import from_text, recipient_context, split_returned
from sendwarden.inbound.message_access import (
    body_texts,
    header_value,
    original_message_id,
    part_text,
    returned_header_blocks,
)
from sendwarden.inbound.model import BounceRecipient
from sendwarden.mailformat import format_code, normalize_message_id

__all__ = [
    "body_texts",
    "classify_smtp_reply",
    "classify_status",
    "header_value",
    "normalize_message_id",
    "original_message_id",
    "parse_dsn",
    "part_text",
    "returned_header_blocks",
]

_STATUS_PART_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "text/delivery-status"}
)


def _strip_type(value: str | None) -> str | None:
    """ "rfc822; a@b" -> "a@b", "smtp; 550 ..." -> "550 ..."."""
    if value is None:
        return None
    _, sep, rest = value.partition(";")
    text = (rest if sep else value).strip()
    return text.strip("<>").strip() or None


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part_text(part).replace("\r\n", "\n")
    return [HeaderParser().parsestr(chunk) for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


def _from_delivery_status(msg: Message) -> list[BounceRecipient]:
    recipients: list[BounceRecipient] = []
    human = "\n".join(body_texts(msg)).replace("\r\n", "\n")
    blocks = [
        block
        for part in msg.walk()
        if part.get_content_type() in _STATUS_PART_TYPES
        for block in _status_blocks(part)
    ]
    addresses = [
        _strip_type(
            header_value(block, "Original-Recipient") or header_value(block, "Final-Recipient")
        )
        for block in blocks
    ]
    failing = [a for a in addresses if a]
    for block, address in zip(blocks, addresses, strict=True):
        if not address:
            continue
        action = header_value(block, "Action")
        action = action.lower() if action else None
        status = header_value(block, "Status")
        diagnostic = _strip_type(header_value(block, "Diagnostic-Code"))
        context = recipient_context(human, address, single=len(failing) == 1)
        classification = classify_status(status, diagnostic, action, context)
        picked = pick_code(status, diagnostic)
        recipients.append(
            BounceRecipient(
                recipient=address,
                action=action,
                status=format_code(picked) if picked else status,
                diagnostic=diagnostic,
                classification=classification,
            )
        )
    return recipients


def parse_dsn(msg: EmailMessage) -> tuple[tuple[BounceRecipient, ...], str | None]:
    """Per-recipient results and the Message-ID of the returned (our) message."""
    recipients = _from_delivery_status(msg)
    text = ""
    if not recipients:
        recipients, text = from_text(msg)
    if not text:
        text = "\n".join(body_texts(msg))
    original = original_message_id(msg, split_returned(text)[1] or text)
    return tuple(recipients), original or _declared_original_id(msg)


def _declared_original_id(msg: Message) -> str | None:
    """No returned headers: Gmail's X-Original-Message-ID field, else the report's In-Reply-To
    (Gmail and Exchange thread their reports onto our message)."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            for block in _status_blocks(part):
                found = normalize_message_id(header_value(block, "X-Original-Message-ID"))
                if found:
                    return found
    return normalize_message_id(header_value(msg, "In-Reply-To"))
