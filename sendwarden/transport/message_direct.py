"""The usual outgoing message written straight to bytes, without an EmailMessage.

Building a message with the `email` package and flattening it costs about as
much CPU as everything else in a send's compose stage. Most messages need none
of what it does beyond templating: ASCII dot-atom addresses, a display name of
plain words, a subject that fits on one line, and a body in 7bit or
quoted-printable. For those, `direct_message_bytes` writes the exact bytes that
`message_bytes(build_message(...))` would (apart from the random multipart
boundary), with the same checks and errors; for anything else it returns None.
`outgoing_message_bytes` picks the path. tests/test_message_direct.py checks
the equality over generated input.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from email import quoprimime
from email.utils import format_datetime
from typing import TypedDict, Unpack

from sendwarden.transport.message import (
    _MAX_HEADER_LINE,
    UnsubscribeLinks,
    _address,
    _list_unsubscribe_value,
    _transfer_encoding,
    _verbatim_form,
    build_message,
    check_header_value,
    message_bytes,
)

_CRLF = "\r\n"
_NEWLINES = re.compile(r"\r\n|\r|\n")
_UNSUBSCRIBE_POST = "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"


def direct_message_bytes(
    *,
    sender_email: str,
    sender_name: str | None,
    recipient_email: str,
    subject: str,
    text_body: str,
    html_body: str | None,
    message_id: str,
    unsubscribe: UnsubscribeLinks | None,
    date: datetime | None = None,
) -> bytes | None:
    """The wire form of a plain message, or None when it needs header encoding or folding."""
    # build_message's checks, in its order, so that a bad value fails the same way.
    if sender_name is not None:
        check_header_value("sender_name", sender_name)
    check_header_value("subject", subject)
    sender = _address("sender_email", sender_email, sender_name or "")
    recipient = _address("recipient_email", recipient_email)
    check_header_value("message_id", message_id)
    head = []
    for name, value in (
        ("From", sender),
        ("To", recipient),
        ("Subject", subject),
        ("Date", format_datetime(date or datetime.now(UTC))),
        ("Message-ID", message_id),
    ):
        text = _verbatim_form(value)
        if text is None or len(name) + 2 + len(text) > _MAX_HEADER_LINE:
            return None  # the header registry would encode or fold it
        head.append(f"{name}: {text}\r\n")
    if unsubscribe is not None:
        links = _list_unsubscribe_value(unsubscribe)
        if not links.isascii():
            return None
        head.append(f"List-Unsubscribe: {links}\r\n{_UNSUBSCRIBE_POST}")
    text_head, text = _part("plain", text_body)
    if html_body is None:
        return "".join([*head, text_head, "MIME-Version: 1.0\r\n\r\n", text]).encode()
    html_head, html = _part("html", html_body)
    # As the email package writes them: MIME-Version on the second part only.
    parts = [f"{text_head}\r\n{text}", f"{html_head}MIME-Version: 1.0\r\n\r\n{html}"]
    boundary = _boundary(parts)
    return "".join(
        [
            *head,
            "MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n',
            f"--{boundary}\r\n",
            f"\r\n--{boundary}\r\n".join(parts),
            f"\r\n--{boundary}--\r\n",
        ]
    ).encode()


def _part(subtype: str, content: str) -> tuple[str, str]:
    """(content headers, encoded body) of one text part, as the email package's
    set_content(..., charset="utf-8", cte=...) and its generator write them."""
    cte = _transfer_encoding(content)
    lines = content.encode("utf-8").splitlines()
    if cte == "7bit":
        body = _CRLF.join(line.decode("ascii") for line in lines) + _CRLF
    else:
        normal = b"\n".join(lines) + b"\n"
        body = _NEWLINES.sub(_CRLF, quoprimime.body_encode(normal.decode("latin-1"), 78))
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    return head, body


def _boundary(parts: list[str]) -> str:
    """A boundary that no part contains (the email package's form: 15 '=', 19 digits, '==')."""
    while True:
        boundary = f"{'=' * 15}{secrets.randbelow(10**19):019d}=="
        if not any(boundary in part for part in parts):
            return boundary


class _Fields(TypedDict):
    sender_email: str
    sender_name: str | None
    recipient_email: str
    subject: str
    text_body: str
    html_body: str | None
    unsubscribe: UnsubscribeLinks | None


def outgoing_message_bytes(message_id: str | None, **fields: Unpack[_Fields]) -> bytes:
    """The wire form of an outgoing message: written directly when it is plain,
    else built with the `email` package (`message_bytes(build_message(...))`)."""
    if message_id is not None:
        direct = direct_message_bytes(message_id=message_id, **fields)
        if direct is not None:
            return direct
    return message_bytes(build_message(message_id=message_id, **fields))
