"""Message building: headers, MIME structure, header injection, and a real round trip."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.transport.errors import HeaderInjectionError, InvalidAddressError
from sendwarden.transport.message import (
    UnsubscribeLinks,
    build_message,
    make_message_id,
    make_unsubscribe_links,
    message_bytes,
)
from sendwarden.transport.pool import SmtpPool
from tests.support.smtp_server import FaultyServer, running_smtp_server

LINKS = UnsubscribeLinks(
    mailto="mailto:unsubscribe@example.com?subject=unsubscribe",
    url="https://sendwarden.example.com/u/" + "Ab-_" * 30 + ".xyz",
)


def build(**overrides: object) -> EmailMessage:
    values: dict[str, object] = {
        "sender_email": "outreach@example.com",
        "sender_name": "Jörg Müller, Outreach",
        "recipient_email": "lead@example.org",
        "subject": "Grüße aus München – a quick question",
        "text_body": "Hallo,\nwie geht's? – Jörg",
    }
    values.update(overrides)
    return build_message(**values)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(part: EmailMessage) -> str:
    # The wire form has CRLF line ends, which the parser keeps in the content.
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultyServer]:
    with running_smtp_server(tmp_path) as running:
        yield running


async def test_received_message_has_all_headers_and_parts(server: FaultyServer) -> None:
    sent = build(
        recipient_email="anna@bücher.de",
        html_body="<p>Hallo – <b>Jörg</b></p>",
        unsubscribe=LINKS,
        date=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    )
    pool = SmtpPool(server.config())
    try:
        await pool.send(
            message_bytes(sent), sender="outreach@example.com", recipients=["anna@bücher.de"]
        )
    finally:
        await pool.close()

    [captured] = server.wait_for(1)
    received = parse(captured.raw)
    sender = received["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (
        "Jörg Müller, Outreach",
        "outreach@example.com",
    )
    assert received["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.de"
    assert received["Subject"] == "Grüße aus München – a quick question"
    assert received["Date"].datetime == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert received["Message-ID"] == sent["Message-ID"]
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", received["Message-ID"])
    assert received["List-Unsubscribe"] == f"<{LINKS.mailto}>, <{LINKS.url}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content_type() == "multipart/alternative"
    plain, html = (part for part in received.iter_parts() if isinstance(part, EmailMessage))
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content_charset() == "utf-8"
    assert text_of(plain) == "Hallo,\nwie geht's? – Jörg\n"
    assert html.get_content_type() == "text/html"
    assert text_of(html) == "<p>Hallo – <b>Jörg</b></p>\n"


def test_message_is_7bit_clean_with_rfc2047_subject() -> None:
    raw = message_bytes(build())

    assert raw.isascii()
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in subject_line
    assert b"\n" not in raw.replace(b"\r\n", b"")


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))).map(str.strip))
def test_subject_round_trips_through_rfc2047(subject: str) -> None:
    received = parse(message_bytes(build(subject=subject)))

    assert received["Subject"] == subject


def test_plain_text_only_message_is_single_part() -> None:
    received = parse(message_bytes(build(text_body="plain ascii")))

    assert received.get_content_type() == "text/plain"
    assert received["Content-Transfer-Encoding"] == "7bit"
    assert text_of(received) == "plain ascii\n"


def test_message_without_unsubscribe_has_no_list_headers() -> None:
    msg = build()

    assert msg["List-Unsubscribe"] is None
    assert msg["List-Unsubscribe-Post"] is None


def test_long_unsubscribe_url_is_kept_whole() -> None:
    links = UnsubscribeLinks(mailto="stop@example.com", url="https://x.example/u/" + "t" * 300)

    raw = message_bytes(build(unsubscribe=links))

    assert f"<{links.url}>".encode() in raw
    assert parse(raw)["List-Unsubscribe"] == f"<mailto:stop@example.com>, <{links.url}>"


def test_make_unsubscribe_links_points_at_public_url() -> None:
    links = make_unsubscribe_links(
        public_url="https://sw.example.com/", token="abc.DEF-_", mailbox="replies@example.com"
    )

    assert links.url == "https://sw.example.com/u/abc.DEF-_"
    # The token in the mailto subject names the attempt (issue 11 item 1).
    assert links.mailto == "mailto:replies@example.com?subject=unsubscribe%20abc.DEF-_"


def test_message_ids_are_unique_and_on_sender_domain() -> None:
    ids = {make_message_id("someone@Example.COM") for _ in range(2000)}

    assert len(ids) == 2000
    assert all(re.fullmatch(r"<[0-9a-f]{32}@example\.com>", i) for i in ids)


def test_message_id_for_idn_sender_uses_a_label() -> None:
    assert make_message_id("info@bücher.de").endswith("@xn--bcher-kva.de>")


def test_explicit_message_id_is_used() -> None:
    assert build(message_id="<fixed@example.com>")["Message-ID"] == "<fixed@example.com>"


def test_extra_headers_are_added() -> None:
    msg = build(extra_headers={"X-Sendwarden-Attempt": "42"})

    assert parse(message_bytes(msg))["X-Sendwarden-Attempt"] == "42"


def test_extra_headers_cannot_replace_core_headers() -> None:
    with pytest.raises(ValueError, match="set by the message builder"):
        build(extra_headers={"Bcc": "someone@example.net"})


INJECTIONS = [
    pytest.param(
        {"sender_email": "a@example.com\r\nBcc: x@evil.test"}, "sender_email", id="sender"
    ),
    pytest.param({"sender_name": "Name\nBcc: x@evil.test"}, "sender_name", id="name"),
    pytest.param(
        {"recipient_email": "b@example.org\rBcc: x@evil.test"}, "recipient_email", id="to"
    ),
    pytest.param({"subject": "Hi\r\nBcc: x@evil.test"}, "subject", id="subject"),
    pytest.param({"subject": "Hi\x00there"}, "subject", id="subject-nul"),
    pytest.param({"message_id": "<a@b>\nBcc: x@evil.test"}, "message_id", id="message-id"),
    pytest.param({"extra_headers": {"X-Tag": "a\nBcc: x@evil.test"}}, "X-Tag", id="extra-value"),
    pytest.param({"extra_headers": {"X-Tag\nBcc": "a"}}, "X-Tag\nBcc", id="extra-name"),
    pytest.param(
        {"unsubscribe": UnsubscribeLinks(mailto="a@b.c", url="https://x/u/t\r\nBcc: x@evil")},
        "list_unsubscribe",
        id="unsubscribe",
    ),
]


@pytest.mark.parametrize(("overrides", "field"), INJECTIONS)
def test_header_injection_in_each_field_raises(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(HeaderInjectionError) as caught:
        build(**overrides)

    assert caught.value.field == field
    assert (
        str(caught.value)
        == f"header field {field!r} must not contain CR, LF or other control characters"
    )


@given(
    st.text(max_size=20),
    st.sampled_from(["\r", "\n", "\r\n", "\x00"]),
    st.text(max_size=20),
    st.sampled_from(["subject", "sender_name"]),
)
def test_any_cr_or_lf_in_a_header_value_raises(
    before: str, breaker: str, after: str, field: str
) -> None:
    with pytest.raises(HeaderInjectionError):
        build(**{field: before + breaker + after})


@pytest.mark.parametrize(
    "recipient",
    ["a@example.org, b@example.org", "no-at-sign", "@example.org", "a@", "a b@example.org"],
)
def test_recipient_must_be_a_single_address(recipient: str) -> None:
    with pytest.raises(InvalidAddressError):
        build(recipient_email=recipient)


def test_non_ascii_local_part_is_serialised_as_utf8_headers() -> None:
    raw = message_bytes(build(recipient_email="jörg@bücher.de"))

    assert "To: jörg@xn--bcher-kva.de\r\n".encode() in raw


_HEADER_TEXT = st.text(
    alphabet=st.sampled_from("abcXYZ019 .,:;'\"()<>@=?!#-_éü–\t"), min_size=1, max_size=90
)
_LOCAL = st.sampled_from(["lead", "first.last", "o'brien", "a+tag", "x_y-z", "Jörg", "plain"])
_NAME = st.one_of(st.none(), _HEADER_TEXT.filter(lambda t: t.strip() == t and "\t" not in t))


@given(
    subject=_HEADER_TEXT.filter(lambda t: "\t" not in t),
    sender_name=_NAME,
    local=_LOCAL,
)
def test_verbatim_headers_are_byte_identical_to_the_registry_path(
    subject: str, sender_name: str | None, local: str, monkeypatch_module: pytest.MonkeyPatch
) -> None:
    """Headers stored as written (no registry parse) must serialise exactly as parsed ones."""
    from sendwarden.transport import message as module

    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    values: dict[str, object] = {
        "sender_email": "outreach@example.com",
        "sender_name": sender_name,
        "recipient_email": f"{local}@example.org",
        "subject": subject,
        "text_body": "Hello\n",
        "message_id": "<fixed@example.com>",
        "date": when,
    }
    fast = message_bytes(build_message(**values))  # type: ignore[arg-type]
    with monkeypatch_module.context() as patch:
        patch.setattr(module, "_verbatim_form", lambda value: None)
        slow = message_bytes(build_message(**values))  # type: ignore[arg-type]
    assert fast == slow


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch
