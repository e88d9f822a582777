"""Reading parts and headers of inbound messages without ever raising on malformed input."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage, Message
from email.parser import HeaderParser

from sendwarden.inbound.html_text import html_to_text
from sendwarden.mailformat import MESSAGE_ID_LINE, normalize_message_id


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
    match = MESSAGE_ID_LINE.search(text_fallback)
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
