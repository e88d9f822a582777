"""Delivery status notifications: RFC 3464 reports and the common non-standard bounce texts.

The RFC 3464 fields are read with the standard `email` package. flufl.bounce finds the
failed addresses of many formats but reports no status codes, which the classification
below depends on, so the non-standard texts are parsed here too.

Classification follows the RFC 3463 enhanced status code first and falls back to the
diagnostic text only when the code is generic (X.0.0, X.5.x) or missing:

==========================  ==============  ==================================================
code                        class           why
==========================  ==============  ==================================================
2.x.x / delivered, relayed  NOT_A_FAILURE
4.x.x / action delayed      SOFT            SENDER_BLOCK for 4.7.x or block/reputation text
                                            (never counts against the recipient); greylisting
                                            stays SOFT
5.1.x, 5.2.1                HARD            address failures; 5.1.0 is decided by the text
5.1.7, 5.1.8                SENDER_BLOCK    they are about OUR sender address
5.2.2, 5.3.x, 5.4.x         SOFT            full mailbox, receiving system or routing trouble
5.4.4                       HARD            destination domain cannot be routed (no MX/A)
5.2.3, 5.3.4, 5.6.x         SENDER_BLOCK    our message (size, content) is the problem
5.7.x                       SENDER_BLOCK    policy, reputation, authentication (DMARC/SPF)
5.0.0, 5.5.x, none          text            block words -> SENDER_BLOCK, quota -> SOFT,
                                            "user unknown"-like -> HARD, otherwise SOFT
==========================  ==============  ==================================================

An unexplained permanent failure is SOFT, not HARD: three soft bounces still suppress the
recipient, while one misread text never does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses

from sendwarden.inbound.model import BounceClass, BounceRecipient
from sendwarden.inbound.quoting import html_to_text

_ENHANCED_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_BASIC_CODE = re.compile(r"(?<![\d.])([245])\d\d(?=[\s\-]|$)")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")

_NOT_FAILURE_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_DAEMON_LOCALPARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "mail-daemon", "double-bounce"}
)


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


# Office 365 answers unknown recipients with "5.4.1 Recipient address rejected: Access denied"
# (directory based edge blocking); it must win over the generic "access denied" block text.
_STRONG_HARD_TEXT = _words(r"recipient address rejected: access denied")
_SENDER_BLOCK_TEXT = _words(
    r"block(?:ed|ing|list(?:ed)?)?",
    r"black ?list(?:ed)?",
    r"deny ?list(?:ed)?",
    r"reputation",
    r"spam\w*",
    r"spamhaus",
    r"spamcop",
    r"barracuda",
    r"(?:dns|uri|sur)?rbl",
    r"(?:dns|uri|sur)bls?",
    r"(?:is|are|been|currently) (?:black|block|deny)?listed",
    r"(?<!not )listed (?:at|on|in|by)",
    r"policy",
    r"polic(?:ies)",
    r"banned",
    r"unsolicited",
    r"complaints",
    r"dmarc",
    r"spf",
    r"dkim",
    r"unauthenticated",
    r"not authenticated",
    r"access denied",
    r"not accepted from this ip",
    r"rate limit(?:ed)?",
    r"too many (?:messages|connections|recipients)",
    r"content rejected",
)
# Blocklist markers: T-Online's "(BL)", "[BL21]"-style codes, "IP=192.0.2.1" rejections.
_SENDER_BLOCK_MARKER = re.compile(
    r"\(\s*bl\s*\)|\[bl\d*\]|\bip=\s*\d{1,3}(?:\.\d{1,3}){3}\b", re.IGNORECASE
)
_GREYLIST_TEXT = _words(r"gr[ae]y ?list(?:ed|ing)?")
_QUOTA_TEXT = _words(
    r"mailbox (?:is )?full",
    r"over ?quota",
    r"quota (?:exceeded|full)",
    r"exceeded (?:the |its |their )?(?:storage )?quota",
    r"insufficient (?:system )?storage",
    r"out of storage",
)
_HARD_TEXT = _words(
    r"user unknown",
    r"unknown user",
    r"unknown recipient",
    r"no such (?:user|mailbox|recipient|address|account)",
    r"mailbox (?:unavailable|not found|disabled|is disabled|does not exist)",
    r"(?:does not|doesn't|doesnt) exist",
    r"recipient ?not ?found",
    r"user not found",
    r"address not found",
    r"(?:could not|couldn't|cannot|can't) be found",
    r"invalid (?:recipient|mailbox|address)",
    r"no mailbox(?: here)?",
    r"(?:doesn't|does not|doesnt) have an? (?:[\w.-]+ )?(?:e-?mail )?account",
    r"mailbox (?:name )?(?:is )?(?:unknown|invalid|not available|not allowed)",
    r"(?:mailbox|account|user) (?:has been )?(?:removed|deleted|terminated|expired)",
    r"not a valid (?:mailbox|user|recipient|address)",
    r"(?:unknown|invalid) (?:local ?part|account)",
    r"unknown or illegal alias",
    r"no valid recipients?",
    r"not our customer",
    r"not listed in (?:the |our |a )?(?:\w+ )?director(?:y|ies)",
    r"account (?:has been |is )?(?:disabled|deactivated|inactive|closed|suspended)",
    r"unroutable address",
    r"unrouteable address",
    r"bad destination mailbox",
    r"no longer (?:active|available|in use|valid)",
)
_DELAY_TEXT = _words(
    r"delayed",
    r"(?:has|have) not yet been delivered",
    r"delivery attempts will continue",
    r"will (?:continue|keep) (?:to )?try(?:ing)?",
    r"will retry",
    r"still trying",
    r"deferred",
)

# Where a non-standard bounce starts quoting the returned message.
_RETURNED_MESSAGE_MARKERS = re.compile(
    r"^\s*(?:"
    r"-+ ?below this line is a copy of the message"
    r"|-+ ?this is a copy of the message"
    r"|-+ ?original message ?-*"
    r"|-+ ?undelivered message"
    r"|original message headers:?"
    r"|-+ ?the header of the original message is following"
    r"|-+ ?returned message ?-*"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
# "... or to contact tosa@rx.example to clarify": a help address quoted in a rejection text.
_CONTACT_HINT = re.compile(
    r"\b(?:contact|mailto:|write to|e-?mail us|reach us|send (?:an? )?e-?mail to|report to)\b",
    re.IGNORECASE,
)
_INLINE_HEADERS_START = re.compile(r"^(?:return-path|received):\s", re.IGNORECASE | re.MULTILINE)


Code = tuple[int, int, int]


def _parse_code(text: str | None) -> Code | None:
    if not text:
        return None
    match = _ENHANCED_CODE.search(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _all_codes(text: str | None) -> list[Code]:
    if not text:
        return []
    return [(int(m[1]), int(m[2]), int(m[3])) for m in _ENHANCED_CODE.finditer(text)]


def _pick_code(status: str | None, diagnostic: str | None) -> Code | None:
    """The Status field wins unless it is generic and the diagnostic says more."""
    declared = _parse_code(status)
    detailed = [code for code in _all_codes(diagnostic) if code[1:] != (0, 0)]
    if declared is None:
        return detailed[0] if detailed else _parse_code(diagnostic)
    if declared[1:] == (0, 0):
        same_class = [code for code in detailed if code[0] == declared[0]]
        if same_class:
            return same_class[0]
    return declared


def _format_code(code: Code) -> str:
    return ".".join(str(number) for number in code)


def _code_from_basic_reply(diagnostic: str) -> int | None:
    match = _BASIC_CODE.search(diagnostic)
    return int(match.group(1)) if match else None


def _classify_transient(code: Code | None, text: str) -> BounceClass:
    if _GREYLIST_TEXT.search(text):
        return BounceClass.SOFT
    if (
        (code is not None and code[1] == 7)
        or _SENDER_BLOCK_TEXT.search(text)
        or _SENDER_BLOCK_MARKER.search(text)
    ):
        return BounceClass.SENDER_BLOCK
    return BounceClass.SOFT


def _classify_by_text(text: str, default: BounceClass) -> BounceClass:
    if _STRONG_HARD_TEXT.search(text):
        return BounceClass.HARD
    if _SENDER_BLOCK_TEXT.search(text) or _SENDER_BLOCK_MARKER.search(text):
        return BounceClass.SENDER_BLOCK
    if _QUOTA_TEXT.search(text):
        return BounceClass.SOFT
    if _HARD_TEXT.search(text):
        return BounceClass.HARD
    return default


def _classify_permanent(code: Code | None, text: str) -> BounceClass:
    if code is None:
        return _classify_by_text(text, BounceClass.SOFT)
    _, subject, detail = code
    if subject == 1:
        if detail in (7, 8):
            return BounceClass.SENDER_BLOCK
        if detail == 0:
            return _classify_by_text(text, BounceClass.HARD)
        return BounceClass.HARD
    if subject == 2:
        if detail == 1:
            return BounceClass.HARD
        if detail == 3:
            return BounceClass.SENDER_BLOCK
        if detail == 0:
            return _classify_by_text(text, BounceClass.SOFT)
        return BounceClass.SOFT
    if subject == 3:
        return (
            BounceClass.SENDER_BLOCK if detail == 4 else _classify_by_text(text, BounceClass.SOFT)
        )
    if subject == 4:
        return BounceClass.HARD if detail == 4 else _classify_by_text(text, BounceClass.SOFT)
    if subject in (6, 7):
        return BounceClass.SENDER_BLOCK
    return _classify_by_text(text, BounceClass.SOFT)


def classify_status(
    status: str | None, diagnostic: str | None, action: str | None = None
) -> BounceClass:
    """Classify one recipient of a DSN (or one SMTP rejection) by RFC 3463 code, then text."""
    act = (action or "").strip().lower()
    if act in _NOT_FAILURE_ACTIONS:
        return BounceClass.NOT_A_FAILURE
    text = " ".join((diagnostic or "").split())
    code = _pick_code(status, text)
    if code is not None:
        status_class = code[0]
    else:
        basic = _code_from_basic_reply(text)
        status_class = basic // 100 if basic is not None else 5
    if status_class == 2 and act not in ("failed", "delayed"):
        return BounceClass.NOT_A_FAILURE
    if act == "delayed" or status_class == 4:
        return _classify_transient(code, text)
    return _classify_permanent(code, text)


def classify_smtp_reply(code: int, enhanced_status: str | None, text: str) -> BounceClass:
    """A rejection at send time (e.g. 550 at RCPT TO) counts exactly like a returned bounce."""
    if 200 <= code < 400:
        return BounceClass.NOT_A_FAILURE
    reply_class = 4 if 400 <= code < 500 else 5
    parsed = _parse_code(enhanced_status) or _parse_code(text)
    status: str | None = None
    if parsed is not None:
        status = f"{reply_class}.{parsed[1]}.{parsed[2]}"
    action = "delayed" if reply_class == 4 else "failed"
    return classify_status(status, text, action)


# --- message access helpers (shared with feedback.py and parse.py) -----------------------


def part_text(part: Message) -> str:
    """Decoded text of a non-multipart part; unknown or wrong charsets decode with replacement."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def normalize_message_id(value: str | None) -> str | None:
    """First "<...>" token of a Message-ID-like header; a bare id gets its brackets back."""
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    if match:
        return match.group(0)
    token = value.strip().split()
    return f"<{token[0]}>" if token and "@" in token[0] else None


def returned_header_blocks(msg: Message) -> list[Message]:
    """Headers of the returned original message(s) carried inside a report."""
    blocks: list[Message] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/rfc822-headers", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                blocks.append(inner[0])
        elif ctype in ("text/rfc822-headers", "text/rfc822"):
            blocks.append(HeaderParser().parsestr(part_text(part)))
    return blocks


def header_value(msg: Message, name: str) -> str | None:
    """A header as text; never raises on malformed header syntax."""
    try:
        value = msg.get(name)
    except Exception:  # the stdlib header parser has edge cases that raise; fall back to raw
        value = None
        for key, raw in msg.raw_items() if isinstance(msg, EmailMessage) else msg.items():
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def original_message_id(msg: Message, text_fallback: str = "") -> str | None:
    for block in returned_header_blocks(msg):
        found = normalize_message_id(header_value(block, "Message-ID"))
        if found:
            return found
    match = _MESSAGE_ID_LINE.search(text_fallback)
    return match.group(1) if match else None


def body_texts(msg: Message) -> Iterator[str]:
    """Text of the message's own text parts (not of attached/returned messages)."""
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if ctype.startswith("message/") or part.get_content_disposition() == "attachment":
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack[0:0] = [p for p in payload if isinstance(p, Message)]
            continue
        if ctype == "text/plain":
            yield part_text(part)
        elif ctype == "text/html":
            yield html_to_text(part_text(part))


# --- RFC 3464 ------------------------------------------------------------------------------


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
    for part in msg.walk():
        if part.get_content_type() not in (
            "message/delivery-status",
            "message/global-delivery-status",
            "text/delivery-status",
        ):
            continue
        for block in _status_blocks(part):
            address = _strip_type(
                header_value(block, "Original-Recipient") or header_value(block, "Final-Recipient")
            )
            if not address:
                continue
            action = header_value(block, "Action")
            action = action.lower() if action else None
            status = header_value(block, "Status")
            diagnostic = _strip_type(header_value(block, "Diagnostic-Code"))
            classification = classify_status(status, diagnostic, action)
            picked = _pick_code(status, diagnostic)
            recipients.append(
                BounceRecipient(
                    recipient=address,
                    action=action,
                    status=_format_code(picked) if picked else status,
                    diagnostic=diagnostic,
                    classification=classification,
                )
            )
    return recipients


# --- non-standard bounce texts (qmail, Exim, legacy Gmail and Exchange) -------------------


def _excluded_addresses(msg: Message) -> set[str]:
    """Our own addresses (the report's recipient, the original's sender) and message ids."""
    excluded: set[str] = set()
    sources: list[tuple[Message, tuple[str, ...]]] = [
        (msg, ("From", "To", "Return-Path", "Delivered-To", "Sender"))
    ]
    sources += [(block, ("From", "Sender", "Return-Path")) for block in returned_header_blocks(msg)]
    for source, names in sources:
        for name in names:
            value = header_value(source, name)
            if value:
                excluded.update(addr.lower() for _, addr in getaddresses([value]) if addr)
        found = normalize_message_id(header_value(source, "Message-ID"))
        if found:
            excluded.add(found.strip("<>").lower())
    return excluded


def _split_returned(text: str) -> tuple[str, str]:
    marker = _RETURNED_MESSAGE_MARKERS.search(text)
    if marker is None:
        marker = _INLINE_HEADERS_START.search(text)
    if marker is None:
        return text, ""
    return text[: marker.start()], text[marker.start() :]


def _candidate_addresses(text: str, excluded: set[str]) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for match in _ADDRESS.finditer(text):
        address = match.group(0).rstrip(".")
        lowered = address.lower()
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_head = text[line_start : match.start()].lower()
        if (
            lowered in excluded
            or lowered.split("@", 1)[0] in _DAEMON_LOCALPARTS
            or "message-id" in line_head
            or "mail from" in line_head
            or _CONTACT_HINT.search(line_head[-60:])
        ):
            continue
        found.append((match.start(), match.end(), address))
    return found


def _stretches(text: str, hits: list[tuple[int, int, str]]) -> dict[str, list[str]]:
    """For each address: the text after its mentions up to the next mention of another one."""
    by_address: dict[str, list[str]] = {}
    canonical: dict[str, str] = {}
    index = 0
    while index < len(hits):
        _, end, address = hits[index]
        last = index
        while last + 1 < len(hits) and hits[last + 1][2].lower() == address.lower():
            last += 1
        stop = hits[last + 1][0] if last + 1 < len(hits) else len(text)
        key = canonical.setdefault(address.lower(), address)
        by_address.setdefault(key, []).append(text[end:stop])
        index = last + 1
    return by_address


def _best_code_text(chunks: Iterable[str]) -> str | None:
    codes = [code for chunk in chunks for code in _all_codes(chunk)]
    specific = [code for code in codes if code[1:] != (0, 0)]
    chosen = specific[0] if specific else (codes[0] if codes else None)
    return _format_code(chosen) if chosen else None


def _from_text(msg: Message) -> tuple[list[BounceRecipient], str]:
    text = "\n".join(body_texts(msg)).replace("\r\n", "\n")
    report, _ = _split_returned(text)
    hits = _candidate_addresses(report, _excluded_addresses(msg))
    action = "delayed" if _DELAY_TEXT.search(report) else "failed"
    recipients: list[BounceRecipient] = []
    for address, chunks in _stretches(report, hits).items():
        diagnostic = " ".join(" ".join(chunks).split()).strip(" :>") or None
        if diagnostic and len(diagnostic) > 1000:
            diagnostic = diagnostic[:1000]
        status = _best_code_text(chunks)
        recipients.append(
            BounceRecipient(
                recipient=address,
                action=action,
                status=status,
                diagnostic=diagnostic,
                classification=classify_status(status, diagnostic, action),
            )
        )
    return recipients, text


def parse_dsn(msg: EmailMessage) -> tuple[tuple[BounceRecipient, ...], str | None]:
    """Per-recipient results and the Message-ID of the returned (our) message."""
    recipients = _from_delivery_status(msg)
    text = ""
    if not recipients:
        recipients, text = _from_text(msg)
    if not text:
        text = "\n".join(body_texts(msg))
    original = original_message_id(msg, _split_returned(text)[1] or text)
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
