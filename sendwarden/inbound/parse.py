"""Turn raw inbound bytes into a classified event: bounce, complaint, reply or auto-reply."""

from __future__ import annotations

from dataclasses import replace
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value, getaddresses

from sendwarden.inbound.dsn import parse_dsn
from sendwarden.inbound.feedback import (
    is_feedback_report,
    is_not_a_complaint,
    parse_arf,
    parse_plain_complaint,
)
from sendwarden.inbound.mail_signals import (
    is_aggregate_report,
    is_auto_reply,
    is_calendar_message,
    is_list_mail,
    looks_like_bounce,
)
from sendwarden.inbound.message_access import header_value, part_text
from sendwarden.inbound.model import (
    InboundKind,
    InboundParseError,
    ParsedInbound,
    ReplyClass,
)
from sendwarden.inbound.quoting import html_to_text, strip_quoted_and_signature
from sendwarden.inbound.replies import classify_reply
from sendwarden.inbound.ses import parse_ses_notification
from sendwarden.inbound.unsubscribe_mail import mailto_request
from sendwarden.mailformat import message_id_tokens, normalize_message_id

_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "subject", "date", "message-id", "content-type", "received",
        "return-path", "in-reply-to", "references", "mime-version", "sender", "cc",
        "auto-submitted", "delivered-to", "reply-to",
    }
)  # fmt: skip


def _bare_address(value: str | None) -> str | None:
    if not value:
        return None
    for _, address in getaddresses([value]):
        if address:
            return address.strip()
    return None


def _report_type(msg: Message) -> str:
    if msg.get_content_type() != "multipart/report":
        return ""
    value = msg.get_param("report-type")
    if value is None or isinstance(value, str):
        return (value or "").lower()
    return str(collapse_rfc2231_value(value)).lower()


def _has_part(msg: Message, content_type: str) -> bool:
    return any(part.get_content_type() == content_type for part in msg.walk())


def _reply_body(msg: Message) -> str:
    """The reply's own text: first inline text/plain part, else the HTML part as text."""
    html: str | None = None
    for part in msg.walk():
        if part.get_content_maintype() == "message":
            break  # an attached or forwarded message is not the author's text
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            text = part_text(part)
            if text.strip():
                return text
        elif ctype == "text/html" and html is None:
            html = part_text(part)
    return html_to_text(html) if html else ""


def _interpret(msg: EmailMessage) -> ParsedInbound:
    sender = _bare_address(header_value(msg, "From"))
    subject = header_value(msg, "Subject")
    base = ParsedInbound(
        kind=InboundKind.OTHER,
        message_id=normalize_message_id(header_value(msg, "Message-ID")),
        from_address=sender,
        subject=subject,
        in_reply_to=normalize_message_id(header_value(msg, "In-Reply-To")),
        references=message_id_tokens(header_value(msg, "References")),
        original_message_id=None,
    )
    report_type = _report_type(msg)
    if report_type == "feedback-report" or is_feedback_report(msg):
        if is_not_a_complaint(msg):  # DMARC failure reports, "not-spam" feedback
            return base
        recipient, original = parse_arf(msg)
        return replace(
            base,
            kind=InboundKind.COMPLAINT,
            original_message_id=original,
            complaint_recipient=recipient,
        )
    ses = parse_ses_notification(msg)
    if ses is not None:  # Amazon SES bounce/complaint JSON delivered by mail
        if ses.kind == "complaint":
            return replace(
                base,
                kind=InboundKind.COMPLAINT,
                original_message_id=ses.original_message_id,
                complaint_recipient=ses.complainers[0] if ses.complainers else None,
            )
        return replace(
            base,
            kind=InboundKind.BOUNCE if ses.bounces else InboundKind.OTHER,
            original_message_id=ses.original_message_id,
            bounces=ses.bounces,
        )
    has_status_part = report_type == "delivery-status" or _has_part(msg, "message/delivery-status")
    plain_complaint = None if has_status_part else parse_plain_complaint(msg, subject or "")
    if plain_complaint is not None:  # JMRP, old Hotmail, headers-only reports
        return replace(
            base,
            kind=InboundKind.COMPLAINT,
            complaint_recipient=plain_complaint[0],
            original_message_id=plain_complaint[1],
        )
    if not has_status_part and (
        is_aggregate_report(msg, sender, subject or "") or is_calendar_message(msg)
    ):
        return base
    if not has_status_part:
        is_unsubscribe, token = mailto_request(msg, subject or "")
        if is_unsubscribe:  # any body, auto-submitted or not (product.md §6)
            return replace(
                base,
                kind=InboundKind.UNSUBSCRIBE,
                unsubscribe_token=token,
                reply_text=strip_quoted_and_signature(_reply_body(msg)),
                reply_class=ReplyClass.UNSUBSCRIBE_REQUEST,
            )
    if has_status_part or looks_like_bounce(msg, sender, subject or ""):
        bounces, original = parse_dsn(msg)
        # A daemon message we cannot read per recipient is kept as OTHER: acting on a guess
        # could suppress the wrong address.
        kind = InboundKind.BOUNCE if bounces else InboundKind.OTHER
        return replace(base, kind=kind, original_message_id=original, bounces=bounces)
    if report_type or msg.get_content_type() == "multipart/report":
        return base  # read receipts (disposition-notification) and other reports
    original = _reply_body(msg)
    text = strip_quoted_and_signature(original)
    if is_auto_reply(msg, subject or "", text):
        return replace(
            base,
            kind=InboundKind.AUTO_REPLY,
            reply_text=text,
            reply_class=ReplyClass.OUT_OF_OFFICE,
            reply_original=original,
        )
    if is_list_mail(msg):
        return base
    return replace(
        base,
        kind=InboundKind.REPLY,
        reply_text=text,
        reply_class=classify_reply(text),
        reply_original=original,
    )


def _has_header_section(msg: Message) -> bool:
    return any(key.lower() in _KNOWN_HEADERS for key in msg)


def parse_inbound(raw: bytes) -> ParsedInbound:
    """Parse and classify one inbound message; InboundParseError for unusable input."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InboundParseError("inbound message must be bytes")
    data = bytes(raw)
    if not data.strip():
        raise InboundParseError("empty message")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:  # the parser is lenient; anything it still raises means unusable
        raise InboundParseError("unparseable message") from exc
    if not _has_header_section(msg):
        raise InboundParseError("message has no header section")
    if not isinstance(msg, EmailMessage):  # policy.default always builds EmailMessage
        raise InboundParseError("unexpected message type")
    try:
        return _interpret(msg)
    except InboundParseError:
        raise
    except Exception as exc:  # contract: callers only ever have to handle InboundParseError
        raise InboundParseError("message could not be interpreted") from exc
