"""Building outgoing MIME messages with the standard `email` package."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from urllib.parse import quote

from sendwarden.policy.addresses import InvalidAddress, a_label
from sendwarden.transport.errors import HeaderInjectionError, InvalidAddressError

# `refold_source="none"` keeps headers set with `set_raw` exactly as written. The
# stock folder turns a URL longer than one line into RFC 2047 encoded-words,
# which breaks the List-Unsubscribe link, so that header is folded here instead.


class _CachingHeaderRegistry(HeaderRegistry):
    """The stock registry builds a new header class with type() on every lookup,
    i.e. for every header set or parsed: a third of the cost of building a
    message. The classes it builds are stateless, so one per header name will do.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(key)
        return found


_HEADERS = _CachingHeaderRegistry()
OUTGOING_POLICY = email_policy.SMTP.clone(refold_source="none", header_factory=_HEADERS)
# For messages to a non-ASCII local part (SMTPUTF8): raw UTF-8 headers.
_OUTGOING_UTF8_POLICY = email_policy.SMTPUTF8.clone(refold_source="none", header_factory=_HEADERS)

# Every control character but TAB (C0, DEL, C1: CR, LF, NUL, and every boundary of
# str.splitlines() among them) and the Unicode line/paragraph separators. None of them
# belongs in a header, and a recipient's client could read one as a line break.
_FORBIDDEN_IN_HEADERS = frozenset(
    [chr(c) for c in range(0x20) if chr(c) != "\t"]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029"]
)
_MAX_7BIT_LINE = 998
# Headers this module owns; extra_headers may not replace them.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "dkim-signature",
    }
)


@dataclass(frozen=True)
class UnsubscribeLinks:
    mailto: str  # "mailto:..." URI (a bare address is accepted too)
    url: str  # one-click https URL (RFC 8058)


def make_unsubscribe_links(*, public_url: str, token: str, mailbox: str) -> UnsubscribeLinks:
    """Links for `SENDWARDEN_PUBLIC_URL`/u/{token} and a mail to the outreach mailbox."""
    return UnsubscribeLinks(
        # The token in the subject names the attempt, verified like the one-click token.
        mailto=f"mailto:{mailbox}?subject=unsubscribe%20{quote(token, safe='')}",
        url=f"{public_url.rstrip('/')}/u/{quote(token, safe='')}",
    )


def check_header_value(field: str, value: str) -> None:
    if _FORBIDDEN_IN_HEADERS.intersection(value):
        raise HeaderInjectionError(field)


def _plain_ascii_words(text: str) -> bool:
    """Printable ASCII words separated by single spaces, with no "=?" in them.

    Only such text goes through the header registry. Anything else is encoded here
    (see _literal): the registry decodes RFC 2047 encoded-words it finds in a value
    ("=?utf-8?b?...?=", so decoded CR/LF became real header lines), drops leading
    and trailing whitespace, and on Python 3.11 may double a space where it folds
    a non-ASCII value.
    """
    return "=?" not in text and _VERBATIM.match(text) is not None


# A display name of plain words: the registry writes it as typed (encoding non-ASCII
# words). Anything else is encoded literally: on Python 3.11 the registry also drops
# the quotes of a display name it has to fold, so "A: b@c.example ..." would become
# group syntax naming another address.
_SIMPLE_NAME = re.compile(r"\w+(?: \w+)*\Z")


def _literal(name: str, text: str) -> str:
    """`text` as RFC 2047 encoded-words of its own characters, folded at CRLF.

    A recipient decodes it once and sees exactly the characters typed, "=?" and
    all: nothing in it is read as header syntax. email.header.Header with an
    explicit charset encodes every character (even ASCII), which is the point.
    """
    return Header(text, "utf-8", header_name=name).encode(linesep="\r\n")


def _ascii_domain(field: str, domain: str) -> str:
    try:
        return a_label(domain)
    except InvalidAddress as exc:
        raise InvalidAddressError(field) from exc


# Memoised: a send parses its sender three times and the address parser is slow.
# Address objects are immutable; failures raise and are never cached.
@lru_cache(maxsize=1024)
def _address(field: str, email: str, display_name: str = "") -> Address:
    """One mailbox; IDN domains become A-labels so no SMTPUTF8 is needed for them."""
    check_header_value(field, email)
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or "=?" in email:
        # "=?" would be read as an encoded-word inside the address (an addr-spec
        # cannot be encoded literally), so it is refused outright.
        raise InvalidAddressError(field)
    ascii_domain = _ascii_domain(field, domain)
    try:
        if local.isascii():
            parsed = Address(addr_spec=f"{local}@{ascii_domain}")
            if parsed.username != local:  # the parser reinterpreted it (quotes, comments)
                raise InvalidAddressError(field)
            return Address(display_name, parsed.username, parsed.domain)
        # Non-ASCII local parts (SMTPUTF8) are outside what the address parser accepts.
        if any(char.isspace() or char in '<>()[]\\,;:@"' for char in local):
            raise InvalidAddressError(field)
        return Address(display_name, local, ascii_domain)
    except (ValueError, IndexError, TypeError) as exc:
        raise InvalidAddressError(field) from exc


def make_message_id(sender_email: str) -> str:
    domain = _address("sender_email", sender_email).domain.lower()
    return f"<{uuid.uuid4().hex}@{domain}>"


def _transfer_encoding(text: str) -> str:
    if text.isascii() and all(len(line) <= _MAX_7BIT_LINE for line in text.splitlines()):
        return "7bit"
    # Quoted-printable keeps the message 7-bit clean: no 8BITMIME needed, and no
    # relay re-encodes it, which would break the DKIM body hash.
    return "quoted-printable"


def _list_unsubscribe_value(links: UnsubscribeLinks) -> str:
    mailto = (
        links.mailto if links.mailto.lower().startswith("mailto:") else f"mailto:{links.mailto}"
    )
    check_header_value("list_unsubscribe", mailto)
    check_header_value("list_unsubscribe", links.url)
    # Pre-folded between the two URIs; each stays whole on its own line.
    return f"<{mailto}>,\r\n <{links.url}>"


def build_message(
    *,
    sender_email: str,
    sender_name: str | None,
    recipient_email: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    message_id: str | None = None,
    unsubscribe: UnsubscribeLinks | None = None,
    date: datetime | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    if sender_name is not None:
        check_header_value("sender_name", sender_name)
    check_header_value("subject", subject)
    sender = _address("sender_email", sender_email, sender_name or "")
    recipient = _address("recipient_email", recipient_email)
    if message_id is None:
        message_id = make_message_id(sender_email)
    check_header_value("message_id", message_id)
    for name, value in (extra_headers or {}).items():
        if not name or not all(33 <= ord(char) <= 126 and char != ":" for char in name):
            raise HeaderInjectionError(name or "extra header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by the message builder")
        check_header_value(name, value)

    msg = EmailMessage(policy=OUTGOING_POLICY)
    if sender_name and not _SIMPLE_NAME.match(sender_name):
        msg.set_raw("From", f"{_literal('From', sender_name)}\r\n <{sender.addr_spec}>")
    else:
        _set_header(msg, "From", sender)
    _set_header(msg, "To", recipient)
    if _plain_ascii_words(subject):
        _set_header(msg, "Subject", subject)
    else:
        msg.set_raw("Subject", _literal("Subject", subject))
    _set_header(msg, "Date", format_datetime(date or datetime.now(UTC)))
    _set_header(msg, "Message-ID", message_id)
    if unsubscribe is not None:
        msg.set_raw("List-Unsubscribe", _list_unsubscribe_value(unsubscribe))
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(text_body, subtype="plain", charset="utf-8", cte=_transfer_encoding(text_body))
    if html_body is not None:
        msg.add_alternative(
            html_body, subtype="html", charset="utf-8", cte=_transfer_encoding(html_body)
        )
    return msg


# Values the header registry would write back unchanged: printable ASCII words
# separated by single spaces, no encoded-word opener, short enough not to fold.
_VERBATIM = re.compile(r"[!-~]+(?: [!-~]+)*\Z")
_PLAIN_PHRASE = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*\Z")
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_MAX_HEADER_LINE = 78


def _set_header(msg: EmailMessage, name: str, value: str | Address) -> None:
    """Set a header, skipping the registry's parse when the value needs no encoding.

    The registry parses every value it is given (about 0.1 ms each); a value it
    would write back unchanged is stored as written instead. Anything else
    (non-ASCII, quoting, folding, encoded words) takes the registry's path.
    tests/test_transport_message.py checks that both paths give the same bytes.
    """
    text = _verbatim_form(value)
    if text is not None and len(name) + 2 + len(text) <= _MAX_HEADER_LINE:
        msg.set_raw(name, text)
    else:
        msg[name] = value


def _verbatim_form(value: str | Address) -> str | None:
    if isinstance(value, Address):
        if not (_DOT_ATOM.match(value.username) and _DOT_ATOM.match(value.domain)):
            return None
        if not value.display_name:
            return value.addr_spec
        if not _PLAIN_PHRASE.match(value.display_name):
            return None
        return f"{value.display_name} <{value.addr_spec}>"
    if "=?" in value or not _VERBATIM.match(value):
        return None
    return value


def _from_and_to_are_ascii(msg: EmailMessage) -> bool:
    """True unless a From/To local part is non-ASCII (the domains are A-labels)."""
    for name, value in msg.raw_items():
        if name.lower() not in ("from", "to"):
            continue
        if isinstance(value, str) and not hasattr(value, "addresses"):
            if value.isascii():
                continue
            value = _HEADERS(name, value)
        if any(not address.username.isascii() for address in getattr(value, "addresses", ())):
            return False
    return True


def needs_smtputf8(address: str) -> bool:
    """True when the local part is non-ASCII (the domain can always be an A-label)."""
    return not address.rpartition("@")[0].isascii()


def message_bytes(msg: EmailMessage) -> bytes:
    """Wire form with CRLF line ends; raw UTF-8 headers only when an address needs it."""
    if not _from_and_to_are_ascii(msg):
        return msg.as_bytes(policy=_OUTGOING_UTF8_POLICY)
    return msg.as_bytes()
