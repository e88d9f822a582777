"""Mail syntax that the sending and the receiving side share, in one place.

RFC 3463 enhanced status codes ("5.1.1"), Message-ID tokens ("<id@host>") and the local
parts mailer daemons send from. The SMTP transport reads enhanced codes from server replies,
the inbound parser from delivery reports; both must agree on what a code is.
"""

from __future__ import annotations

import re

Code = tuple[int, int, int]

# Anywhere in a text: "550 5.1.1 User unknown", "(#5.1.1)", "smtp; 5.2.2 quota".
ENHANCED_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# At the start of a reply text (what an SMTP server answers after its basic code).
_LEADING_ENHANCED_CODE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")
BASIC_REPLY_CODE = re.compile(r"(?<![\d.])([245])\d\d(?=[\s\-]|$)")
MESSAGE_ID_TOKEN = re.compile(r"<[^<>\s]+>")
MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
DAEMON_LOCALPARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "mail-daemon", "double-bounce"}
)


def parse_enhanced_status(text: str) -> str | None:
    """The enhanced status code at the start of a reply text, e.g. "5.1.1"."""
    match = _LEADING_ENHANCED_CODE.match(text)
    return ".".join(match.groups()) if match else None


def first_code(text: str | None) -> Code | None:
    """The first enhanced status code anywhere in the text."""
    codes = all_codes(text)
    return codes[0] if codes else None


def all_codes(text: str | None) -> list[Code]:
    if not text:
        return []
    return [(int(m[1]), int(m[2]), int(m[3])) for m in ENHANCED_CODE.finditer(text)]


def format_code(code: Code) -> str:
    return ".".join(str(number) for number in code)


def basic_reply_class(text: str) -> int | None:
    """2, 4 or 5 from the first three-digit SMTP reply code in the text."""
    match = BASIC_REPLY_CODE.search(text)
    return int(match.group(1)) if match else None


def normalize_message_id(value: str | None) -> str | None:
    """First "<...>" token of a Message-ID-like header; a bare id gets its brackets back."""
    if not value:
        return None
    match = MESSAGE_ID_TOKEN.search(value)
    if match:
        return match.group(0)
    token = value.strip().split()
    return f"<{token[0]}>" if token and "@" in token[0] else None


def message_id_tokens(value: str | None) -> tuple[str, ...]:
    return tuple(MESSAGE_ID_TOKEN.findall(value or ""))


def is_daemon_address(address: str | None) -> bool:
    """mailer-daemon@…, postmaster@…: the senders of delivery reports."""
    if not address or "@" not in address:
        return False
    return address.rpartition("@")[0].strip().lower() in DAEMON_LOCALPARTS
