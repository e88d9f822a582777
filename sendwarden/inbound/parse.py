"""Turn raw inbound bytes into a classified event: bounce, complaint, reply or auto-reply."""

from __future__ import annotations

import re
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
from sendwarden.inbound.message_access import body_texts, header_value, part_text
from sendwarden.inbound.model import (
    InboundKind,
    InboundParseError,
    ParsedInbound,
    ReplyClass,
)
from sendwarden.inbound.quoting import html_to_text, strip_quoted_and_signature
from sendwarden.inbound.replies import classify_reply, looks_out_of_office, normalize
from sendwarden.inbound.ses import parse_ses_notification
from sendwarden.inbound.unsubscribe_mail import mailto_request
from sendwarden.mailformat import is_daemon_address, message_id_tokens, normalize_message_id

_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "subject", "date", "message-id", "content-type", "received",
        "return-path", "in-reply-to", "references", "mime-version", "sender", "cc",
        "auto-submitted", "delivered-to", "reply-to",
    }
)  # fmt: skip
_REPLY_OR_FORWARD_PREFIX = re.compile(r"^\s*(?:re|aw|sv|fw|fwd|wg|tr|rv|rif|i|antw)\s*:", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliver(?:ed|able)|delivery status notification|mail delivery failed"
    r"|delivery failure|failure notice|returned mail|mail system error|non remis"
    r"|unzustellbar|nicht zustellbar|onbestelbaar|non recapitabile|no se puede entregar"
    r"|delivery (?:has )?failed|warning: message .* delayed)",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"this is the qmail-send program|created automatically by mail delivery software"
    r"|delivery to the following recipients? (?:failed|has been delayed)"
    r"|delivery has failed to these recipients|following recipient\(s\) cannot be reached"
    r"|this is the mail system at host|did not reach some or all of the intended recipients"
    r"|could not be delivered to one or more (?:of its )?recipients",
    re.IGNORECASE,
)
# Subjects of out-of-office replies, matched on normalize()d text (no accents, casefolded).
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|auto:|out of (?:the )?office"
    r"|automatische antwort|abwesenheitsnotiz|abwesend|reponse automatique|absence|absent"
    r"|respuesta automatica|fuera de la oficina|risposta automatica|fuori (?:ufficio|sede)"
    r"|automatisch antwoord|afwezig)"
)
_AUTO_REPLY_FLAG_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply")
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post")
# DMARC aggregate (RFC 7489) and SMTP TLS (RFC 8460) reports: machine mail, never a reply.
_AGGREGATE_REPORT_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:report[ -]?domain\s*:|dmarc (?:aggregate )?report\b"
    r"|tls(?:-rpt| report)\b)",
    re.IGNORECASE,
)
_AGGREGATE_REPORT_FILE = re.compile(
    r"^[^!/\\]+![^!/\\]+!\d+!\d+(?:![^!/\\]*)?\.(?:xml|json|zip)(?:\.gz|\.gzip|\.zip)?$",
    re.IGNORECASE,
)
_ARCHIVE_TYPES = frozenset(
    {
        "application/zip", "application/gzip", "application/x-gzip", "application/x-zip",
        "application/x-zip-compressed", "application/xml", "text/xml",
        "application/tlsrpt+gzip", "application/tlsrpt+json", "application/octet-stream",
    }
)  # fmt: skip
_REPORT_SENDER = re.compile(r"dmarc|tls-?rpt|tlsrpt", re.IGNORECASE)
# iTIP scheduling methods (RFC 5546); a plain PUBLISH attachment is just a file.
_CALENDAR_METHODS = frozenset(
    {"request", "reply", "cancel", "counter", "declinecounter", "add", "refresh"}
)
_ICS_METHOD = re.compile(r"^METHOD:\s*([A-Za-z-]+)", re.IGNORECASE | re.MULTILINE)


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


def _own_parts(msg: Message) -> list[Message]:
    """The message's leaf parts, not those of attached or forwarded messages."""
    leaves: list[Message] = []
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop()
        if part is not msg and part.get_content_maintype() == "message":
            continue
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
        else:
            leaves.append(part)
    return leaves


def _is_aggregate_report(msg: Message, sender: str | None, subject: str) -> bool:
    if _AGGREGATE_REPORT_SUBJECT.match(subject):
        return True
    local_part = (sender or "").partition("@")[0]
    for part in _own_parts(msg):
        filename = part.get_filename() or ""
        if _AGGREGATE_REPORT_FILE.search(filename):
            return True
        if part.get_content_type() in _ARCHIVE_TYPES and _REPORT_SENDER.search(local_part):
            return True
    return False


def _is_calendar_message(msg: Message) -> bool:
    """An invitation or an answer to one (text/calendar with an iTIP method)."""
    for part in _own_parts(msg):
        if part.get_content_type() not in ("text/calendar", "application/ics"):
            continue
        method = part.get_param("method")
        if not isinstance(method, str):
            found = _ICS_METHOD.search(part_text(part))
            method = found.group(1) if found else ""
        if method.strip().lower() in _CALENDAR_METHODS:
            return True
    return False


def _looks_like_bounce(msg: Message, sender: str | None, subject: str) -> bool:
    if is_daemon_address(sender):
        return True
    if _REPLY_OR_FORWARD_PREFIX.match(subject):
        return False
    if _BOUNCE_SUBJECT.match(subject):
        return True
    head = "\n".join(body_texts(msg))[:3000]
    return _BOUNCE_BODY.search(head) is not None


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


def _is_auto_reply(msg: Message, subject: str, text: str) -> bool:
    auto_submitted = (header_value(msg, "Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    for name in _AUTO_REPLY_FLAG_HEADERS:
        value = header_value(msg, name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return True
    precedence = (header_value(msg, "Precedence") or "").strip().lower()
    if precedence == "auto_reply" or _AUTO_REPLY_SUBJECT.match(normalize(subject)):
        return True
    return precedence in ("bulk", "junk", "list") and looks_out_of_office(f"{subject}\n{text}")


def _is_list_mail(msg: Message) -> bool:
    precedence = (header_value(msg, "Precedence") or "").strip().lower()
    return precedence in ("bulk", "junk", "list") or any(
        header_value(msg, name) is not None for name in _LIST_HEADERS
    )


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
        _is_aggregate_report(msg, sender, subject or "") or _is_calendar_message(msg)
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
    if has_status_part or _looks_like_bounce(msg, sender, subject or ""):
        bounces, original = parse_dsn(msg)
        # A daemon message we cannot read per recipient is kept as OTHER: acting on a guess
        # could suppress the wrong address.
        kind = InboundKind.BOUNCE if bounces else InboundKind.OTHER
        return replace(base, kind=kind, original_message_id=original, bounces=bounces)
    if report_type or msg.get_content_type() == "multipart/report":
        return base  # read receipts (disposition-notification) and other reports
    original = _reply_body(msg)
    text = strip_quoted_and_signature(original)
    if _is_auto_reply(msg, subject or "", text):
        return replace(
            base,
            kind=InboundKind.AUTO_REPLY,
            reply_text=text,
            reply_class=ReplyClass.OUT_OF_OFFICE,
            reply_original=original,
        )
    if _is_list_mail(msg):
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
