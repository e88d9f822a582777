"""Signals in a message's headers and parts that say what kind of mail it is: a bounce,
an auto-reply, list mail, a DMARC/TLS report or a calendar answer (never a reply)."""

from __future__ import annotations

import re
from email.message import Message

from sendwarden.inbound.message_access import body_texts, header_value, part_text
from sendwarden.inbound.replies import looks_out_of_office, normalize
from sendwarden.mailformat import is_daemon_address

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


def own_parts(msg: Message) -> list[Message]:
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


def is_aggregate_report(msg: Message, sender: str | None, subject: str) -> bool:
    if _AGGREGATE_REPORT_SUBJECT.match(subject):
        return True
    local_part = (sender or "").partition("@")[0]
    for part in own_parts(msg):
        filename = part.get_filename() or ""
        if _AGGREGATE_REPORT_FILE.search(filename):
            return True
        if part.get_content_type() in _ARCHIVE_TYPES and _REPORT_SENDER.search(local_part):
            return True
    return False


def is_calendar_message(msg: Message) -> bool:
    """An invitation or an answer to one (text/calendar with an iTIP method)."""
    for part in own_parts(msg):
        if part.get_content_type() not in ("text/calendar", "application/ics"):
            continue
        method = part.get_param("method")
        if not isinstance(method, str):
            found = _ICS_METHOD.search(part_text(part))
            method = found.group(1) if found else ""
        if method.strip().lower() in _CALENDAR_METHODS:
            return True
    return False


def looks_like_bounce(msg: Message, sender: str | None, subject: str) -> bool:
    if is_daemon_address(sender):
        return True
    if _REPLY_OR_FORWARD_PREFIX.match(subject):
        return False
    if _BOUNCE_SUBJECT.match(subject):
        return True
    head = "\n".join(body_texts(msg))[:3000]
    return _BOUNCE_BODY.search(head) is not None


def is_auto_reply(msg: Message, subject: str, text: str) -> bool:
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


def is_list_mail(msg: Message) -> bool:
    precedence = (header_value(msg, "Precedence") or "").strip().lower()
    return precedence in ("bulk", "junk", "list") or any(
        header_value(msg, name) is not None for name in _LIST_HEADERS
    )
