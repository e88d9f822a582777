"""Complaint reports: ARF (RFC 5965) and the formats around it.

- ARF: multipart/report; report-type=feedback-report. Not every ARF report is a
  complaint: DMARC failure (forensic) reports use ARF with Feedback-Type
  "auth-failure" (RFC 6591), and "not-spam" says the opposite of a complaint.
- `Removal-Recipient:` (ARF drafts, some feedback loops): the address to remove, in
  the report fields or as a line of a plain-text report.
- Microsoft JMRP and old Hotmail/MSN complaints: the original is attached as
  message/rfc822 (or pasted as text) and names the complainer in
  `X-HmXmrOriginalRecipient:`; older ones are multipart/mixed, not ARF.
- Non-ARF reports that attach only the original's headers (`text/rfc822-headers`).
Amazon SES/SNS JSON notifications are read in sendwarden.inbound.ses.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from sendwarden.inbound.dsn import (
    body_texts,
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


_HOTMAIL_RECIPIENT = "X-HmXmrOriginalRecipient"
_FIELD_LINE = re.compile(
    r"^\s*(?P<name>removal-recipient|x-hmxmroriginalrecipient|original-rcpt-to)\s*:\s*(?P<value>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
# Words of complaint reports (not of bounces or of people): subject or first text part.
_COMPLAINT_TEXT = re.compile(
    r"\b(?:e-?mail abuse report|abuse report for an e-?mail|complaint about message from"
    r"|spam complaint|feedback loop|(?:was|been) (?:reported|marked) as (?:spam|junk)"
    r"|junk mail report(?:ing)?)\b",
    re.IGNORECASE,
)


def _recipient_in_blocks(blocks: list[Message]) -> str | None:
    for name in (_HOTMAIL_RECIPIENT, "To"):
        for block in blocks:
            found = _first_address(header_value(block, name))
            if found:
                return found
    return None


def _field_lines(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _FIELD_LINE.finditer(text):
        found.setdefault(match.group("name").lower(), match.group("value"))
    return found


def parse_arf(msg: Message) -> tuple[str | None, str | None]:
    """(complaining recipient, Message-ID of our message) of an ARF report."""
    fields = _feedback_fields(msg)
    recipient = None
    if fields is not None:
        recipient = _first_address(header_value(fields, "Removal-Recipient")) or _first_address(
            header_value(fields, "Original-Rcpt-To")
        )
    originals = returned_header_blocks(msg)
    if recipient is None:
        recipient = _recipient_in_blocks(originals)
    message_id = original_message_id(msg)
    if message_id is None and fields is not None:
        # Some providers put the id in the report fields (non-standard but seen in the wild).
        message_id = normalize_message_id(
            header_value(fields, "Original-Message-ID") or header_value(fields, "Message-ID")
        )
    return recipient, message_id


def parse_plain_complaint(msg: Message, subject: str) -> tuple[str | None, str | None] | None:
    """(complainer, our Message-ID) of a non-ARF complaint (JMRP, old Hotmail, headers-only).

    None unless the message reads as a complaint report AND carries evidence of our
    message: an attached original or its headers, or the fields pasted as text.
    """
    own_text = "\n".join(body_texts(msg))
    pasted = _field_lines(own_text)
    blocks = returned_header_blocks(msg)
    reads_as_report = bool(
        _COMPLAINT_TEXT.search(subject) or _COMPLAINT_TEXT.search(own_text[:3000])
    )
    hotmail_marker = "x-hmxmroriginalrecipient" in pasted or any(
        header_value(block, _HOTMAIL_RECIPIENT) for block in blocks
    )
    if not (reads_as_report or hotmail_marker):
        return None
    if not blocks and not pasted:
        return None
    recipient = next(
        (
            found
            for name in ("removal-recipient", "x-hmxmroriginalrecipient", "original-rcpt-to")
            if (found := _first_address(pasted.get(name)))
        ),
        None,
    )
    recipient = recipient or _recipient_in_blocks(blocks)
    message_id = original_message_id(msg)
    if message_id is None:
        match = _MESSAGE_ID_LINE.search(own_text)
        message_id = match.group(1) if match else None
    if message_id is None and recipient is None:
        return None
    return recipient, message_id
