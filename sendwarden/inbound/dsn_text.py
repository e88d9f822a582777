"""Bounces without an RFC 3464 status part: qmail, old Sendmail, Exim, legacy Gmail and
Exchange, Japanese carriers. Each failed address is found in the report text and judged by
the text that follows it, up to the next address."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import Message
from email.utils import getaddresses

from sendwarden.inbound.bounce_phrases import DELAY
from sendwarden.inbound.bounce_rules import classify_status
from sendwarden.inbound.message_access import body_texts, header_value, returned_header_blocks
from sendwarden.inbound.model import BounceRecipient
from sendwarden.mailformat import DAEMON_LOCALPARTS, all_codes, format_code, normalize_message_id

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
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
    r"|-+ ?original message follows ?-*"
    r"|-+ ?unsent message below ?-*"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
# "... or to contact tosa@rx.example to clarify": a help address quoted in a rejection text.
_CONTACT_HINT = re.compile(
    r"\b(?:contact|mailto:|write to|e-?mail us|reach us|send (?:an? )?e-?mail to|report to)\b",
    re.IGNORECASE,
)
# Lines naming OUR address: the envelope sender, the original sender, the report's headers.
_SENDER_LINE = re.compile(
    r"(?:mail from|return-path|envelope[- ]sender|original sender|sender(?: address)?\s*:"
    r"|^\s*from\s*:|x-postfix-sender|reverse-path)",
    re.IGNORECASE,
)
_INLINE_HEADERS_START = re.compile(r"^(?:return-path|received):\s", re.IGNORECASE | re.MULTILINE)
# A token cut by a line wrap: "<bounce+sw-4f1c-" at a line end, the rest of it on the next
# (a sentence ending "recipient." before an address is not one).
_WRAPPED_TAIL = re.compile(r"(?:^|[\s<(\"'])[A-Za-z0-9][A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]*[-+=]$")


def split_returned(text: str) -> tuple[str, str]:
    marker = _RETURNED_MESSAGE_MARKERS.search(text)
    if marker is None:
        marker = _INLINE_HEADERS_START.search(text)
    if marker is None:
        return text, ""
    return text[: marker.start()], text[marker.start() :]


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


def _is_wrapped_fragment(text: str, start: int) -> bool:
    """The address begins a line and the previous line ends in an unfinished token: the tail
    of a longer address (our VERP envelope sender) wrapped across lines."""
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip(" \t<\"'(") != "":
        return False
    previous_end = line_start - 1
    if previous_end <= 0:
        return False
    previous = text[text.rfind("\n", 0, previous_end) + 1 : previous_end].rstrip("\r")
    if not previous or previous[-1].isspace():
        return False
    return _WRAPPED_TAIL.search(previous) is not None


def _candidate_addresses(text: str, excluded: set[str]) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for match in _ADDRESS.finditer(text):
        address = match.group(0).rstrip(".")
        lowered = address.lower()
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_head = text[line_start : match.start()].lower()
        if (
            lowered in excluded
            or lowered.split("@", 1)[0] in DAEMON_LOCALPARTS
            or "message-id" in line_head
            or _SENDER_LINE.search(line_head)
            or _CONTACT_HINT.search(line_head[-60:])
            or _is_wrapped_fragment(text, match.start())
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
    """The first specific failure code; a "250 2.1.5 Ok" in a transcript is no verdict."""
    codes = [code for chunk in chunks for code in all_codes(chunk)]
    failures = [code for code in codes if code[0] != 2]
    specific = [code for code in failures if code[1:] != (0, 0)]
    ranked = specific or failures or codes
    return format_code(ranked[0]) if ranked else None


def recipient_context(human: str, address: str, *, single: bool) -> str:
    """What the human-readable part says about one recipient of an RFC 3464 report."""
    report, _ = split_returned(human)
    if single:
        return report[:3000]
    hits = [(m.start(), m.end(), m.group(0).rstrip(".")) for m in _ADDRESS.finditer(report)]
    chunks = _stretches(report, hits).get(address, [])
    for key, value in _stretches(report, hits).items():
        if key.lower() == address.lower():
            chunks = value
    return " ".join(chunks)[:3000]


def _lead_in(report: str, start: int) -> str:
    """The line just above an address: some reports give the verdict first ("the following
    user does not exist:" then the address), Japanese providers among them."""
    line_start = report.rfind("\n", 0, start) + 1
    above_start = report.rfind("\n", 0, max(0, line_start - 1)) + 1
    return report[above_start:start] if line_start > 0 else report[line_start:start]


def from_text(msg: Message) -> tuple[list[BounceRecipient], str]:
    text = "\n".join(body_texts(msg)).replace("\r\n", "\n")
    report, _ = split_returned(text)
    hits = _candidate_addresses(report, _excluded_addresses(msg))
    action = "delayed" if DELAY.search(report) else "failed"
    recipients: list[BounceRecipient] = []
    first_mention: dict[str, int] = {}
    for start, _, address in hits:
        first_mention.setdefault(address.lower(), start)
    for address, chunks in _stretches(report, hits).items():
        diagnostic = " ".join(" ".join(chunks).split()).strip(" :>") or None
        if diagnostic and len(diagnostic) > 1000:
            diagnostic = diagnostic[:1000]
        status = _best_code_text(chunks)
        lead_in = _lead_in(report, first_mention[address.lower()])
        recipients.append(
            BounceRecipient(
                recipient=address,
                action=action,
                status=status,
                diagnostic=diagnostic,
                classification=classify_status(status, diagnostic, action, lead_in),
            )
        )
    return recipients, text
