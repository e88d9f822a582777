"""ARF complaint reports (RFC 5965, multipart/report; report-type=feedback-report).

Not every ARF report is a complaint: DMARC failure (forensic) reports use ARF with
Feedback-Type "auth-failure" (RFC 6591), and "not-spam" says the opposite of a complaint.
"""

from __future__ import annotations

from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from sendwarden.inbound.dsn import (
    header_value,
    normalize_message_id,
    original_message_id,
    part_text,
    returned_header_blocks,
)


def _feedback_fields(msg: Message) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        return HeaderParser().parsestr(part_text(part))
    return None


def _first_address(value: str | None) -> str | None:
    if not value:
        return None
    for _, address in getaddresses([value]):
        if "@" in address:
            return address.strip()
    return None


_NOT_COMPLAINT_TYPES = frozenset({"auth-failure", "not-spam"})


def is_feedback_report(msg: Message) -> bool:
    return _feedback_fields(msg) is not None


def is_not_a_complaint(msg: Message) -> bool:
    """An ARF report whose Feedback-Type says nobody complained (auth-failure, not-spam)."""
    fields = _feedback_fields(msg)
    if fields is None:
        return False
    feedback_type = (header_value(fields, "Feedback-Type") or "").strip().lower()
    return feedback_type in _NOT_COMPLAINT_TYPES


def parse_arf(msg: Message) -> tuple[str | None, str | None]:
    """(complaining recipient, Message-ID of our message) of an ARF report."""
    fields = _feedback_fields(msg)
    recipient = None
    if fields is not None:
        recipient = _first_address(header_value(fields, "Original-Rcpt-To"))
    originals = returned_header_blocks(msg)
    if recipient is None:
        for block in originals:
            recipient = _first_address(header_value(block, "To"))
            if recipient:
                break
    message_id = original_message_id(msg)
    if message_id is None and fields is not None:
        # Some providers put the id in the report fields (non-standard but seen in the wild).
        message_id = normalize_message_id(
            header_value(fields, "Original-Message-ID") or header_value(fields, "Message-ID")
        )
    return recipient, message_id
