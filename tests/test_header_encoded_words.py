"""User text is never read as RFC 2047 encoded-words or other header syntax (issue 10.1).

Unit level: for any text the parsed-back header equals what was typed and the message
has exactly one From/To/Subject. End to end: each trick goes through the real app to
the real STARTTLS+AUTH SMTP server and the delivered message is read back.
"""

from __future__ import annotations

import base64
import email
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.transport.errors import HeaderInjectionError, InvalidAddressError
from sendwarden.transport.message import UnsubscribeLinks, build_message, message_bytes
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import AppFactory, smtp_settings
from tests.support.smtp_server import FaultyServer

_PAYLOAD = (
    "Hi\r\nFrom: ceo@bank.example\r\nReply-To: phish@evil.example\r\n\r\nYour account is locked."
)
_B64 = base64.b64encode(_PAYLOAD.encode()).decode()

# Each trick is sent as typed; the recipient must see exactly these characters.
TRICKS = {
    "b-encoded-word": f"=?utf-8?b?{_B64}?=",
    "q-encoded-word": "=?utf-8?q?Hi=0D=0AFrom:=20ceo@bank.example=0D=0A=0D=0Abody?=",
    "split-encoded-words": "=?utf-8?q?Hi=0D?= =?utf-8?q?=0ABcc:_x@evil.example?=",
    "encoded-word-inside-word": "Offer=?utf-8?q?=0D=0ABcc:_x@evil.example?=now",
    "encoded-nul": "=?utf-8?b?SGkASGk=?=",
    "encoded-unicode-separator": "=?utf-8?b?SGnigKhCY2M6IHhAZXZpbC5leGFtcGxl?=",
    "iso-8859-1-word": "=?iso-8859-1?q?Gr=FC=DFe=0D=0ABcc:_x@evil.example?=",
    "header-lookalike": "Hi From: ceo@bank.example Reply-To: phish@evil.example",
    "leading-whitespace": "  =?utf-8?q?x?= padded\t",
    "long-encoded-words": " ".join([f"=?utf-8?b?{_B64}?="] * 4),
}
# Rejected outright: a raw or Unicode line break cannot be sent literally in a header.
BREAKS = {
    "folded-line": "Hi\r\n Bcc: x@evil.example",
    "bare-lf": "Hi\nBcc: x@evil.example",
    "nul": "Hi\x00there",
    "line-separator": "Hi\u2028Bcc: x@evil.example",
    "paragraph-separator": "Hi\u2029Bcc: x@evil.example",
    "next-line": "Hi\x85Bcc: x@evil.example",
    "escape": "Hi\x1b[2J",
    "delete": "Hi\x7f",
}
LINKS = UnsubscribeLinks(mailto="mailto:u@example.com", url="https://sw.example/u/token")


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_names(raw: bytes) -> list[str]:
    """Names of the header lines as a receiving MTA splits them (continuations skipped)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [
        line.split(b":", 1)[0].decode().lower()
        for line in head.split(b"\r\n")
        if line and line[:1] not in (b" ", b"\t")
    ]


def build(**overrides: object) -> bytes:
    values: dict[str, object] = {
        "sender_email": "outreach@example.com",
        "sender_name": "Outreach",
        "recipient_email": "lead@example.org",
        "subject": "Hello",
        "text_body": "Body line\n",
        "unsubscribe": LINKS,
    }
    values.update(overrides)
    return message_bytes(build_message(**values))  # type: ignore[arg-type]


def assert_single_core_headers(raw: bytes) -> None:
    names = header_names(raw)
    for name in ("from", "to", "subject", "date", "message-id", "list-unsubscribe"):
        assert names.count(name) == 1, (name, names)
    assert "reply-to" not in names and "bcc" not in names


_HEADER_SAFE = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"
)
_TEXT = st.lists(
    st.text(_HEADER_SAFE, max_size=10)
    | st.sampled_from(["=?", "?=", "=?utf-8?b?", "?q?", "\t", " "])
    | st.sampled_from(list(TRICKS.values())),
    min_size=1,
    max_size=12,
).map("".join)


@given(_TEXT)
def test_subject_parsed_back_equals_any_text_typed(subject: str) -> None:
    raw = build(subject=subject)

    assert raw.isascii()
    assert_single_core_headers(raw)
    assert str(parse(raw)["Subject"]) == subject


@given(_TEXT)
def test_sender_name_never_becomes_header_syntax(name: str) -> None:
    raw = build(sender_name=name)

    assert_single_core_headers(raw)
    [sender] = parse(raw)["From"].addresses
    assert sender.addr_spec == "outreach@example.com"
    # A display name is a phrase: parsers collapse its whitespace, nothing else.
    assert "".join(sender.display_name.split()) == "".join(name.split())


@pytest.mark.parametrize("trick", list(TRICKS), ids=list(TRICKS))
def test_encoded_word_tricks_are_sent_literally(trick: str) -> None:
    raw = build(subject=TRICKS[trick], sender_name=TRICKS[trick])

    assert_single_core_headers(raw)
    received = parse(raw)
    assert str(received["Subject"]) == TRICKS[trick]
    assert received.get_content() == "Body line\r\n"


@pytest.mark.parametrize("trick", list(BREAKS), ids=list(BREAKS))
@pytest.mark.parametrize("field", ["subject", "sender_name"])
def test_line_breaks_and_controls_are_refused(trick: str, field: str) -> None:
    with pytest.raises(HeaderInjectionError) as caught:
        build(**{field: BREAKS[trick]})
    assert caught.value.field == field


@given(st.characters(categories=("Cc",)).filter(lambda c: c != "\t"))
def test_every_control_character_but_tab_is_refused(char: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build(subject=f"a{char}b")


@pytest.mark.parametrize("field", ["sender_email", "recipient_email"])
@pytest.mark.parametrize(
    "address",
    ["=?utf-8?b?SGkNCkJjYzogeEBldmlsLmV4YW1wbGU=?=@example.org", "a=?x?q?y?=b@example.org"],
)
def test_encoded_word_in_an_address_is_refused(field: str, address: str) -> None:
    with pytest.raises(InvalidAddressError) as caught:
        build(**{field: address})
    assert caught.value.field == field


# -- end to end: the real app, the real SMTP server, the delivered message ------------------


def assert_delivered_intact(raw: bytes, subject: str, message_id: str) -> EmailMessage:
    assert_single_core_headers(raw)
    received = parse(raw)
    assert str(received["Subject"]) == subject
    assert received["Message-ID"] == message_id
    assert "https://sw.example/u/" in str(received["List-Unsubscribe"])
    [sender] = received["From"].addresses
    assert sender.addr_spec == "outreach@sender.example"
    body = received.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Hello,\nI enjoyed your article.\n"
    return received


async def test_send_delivers_every_encoded_word_trick_literally(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp, sendwarden_public_url="https://sw.example"))
    c = await make_campaign(app.client, app.alice.headers)
    for number, (trick, subject) in enumerate(TRICKS.items()):
        lead = await make_lead(app.client, app.alice.headers, c, f"lead{number}@example.net")
        r = await send(app.client, app.alice.headers, c, lead, subject=subject)
        assert r.status_code == 200, (trick, r.text)
        [delivered] = [m for m in smtp.messages if f"lead{number}@example.net" in m.rcpt_tos]
        assert_delivered_intact(delivered.raw, subject, r.json()["message_id"])
    assert len(smtp.messages) == len(TRICKS)


async def test_send_delivers_encoded_word_sender_name_literally(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    name = TRICKS["b-encoded-word"]
    app = await api_factory(
        **smtp_settings(smtp, sendwarden_public_url="https://sw.example", smtp_from_name=name)
    )
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "lead@example.net")
    r = await send(app.client, app.alice.headers, c, lead, subject="Plain")
    assert r.status_code == 200, r.text
    [delivered] = smtp.wait_for(1)
    received = assert_delivered_intact(delivered.raw, "Plain", r.json()["message_id"])
    # Python's phrase parser puts a space between adjacent encoded-words; nothing else differs.
    assert received["From"].addresses[0].display_name.replace(" ", "") == name


@pytest.mark.parametrize("trick", list(BREAKS), ids=list(BREAKS))
async def test_send_refuses_line_breaks_in_subject_with_422(
    api_factory: AppFactory, smtp: FaultyServer, trick: str
) -> None:
    app = await api_factory(**smtp_settings(smtp, sendwarden_public_url="https://sw.example"))
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "lead@example.net")
    r = await send(app.client, app.alice.headers, c, lead, subject=BREAKS[trick])
    assert r.status_code == 422, r.text
    assert "subject" in r.text
    assert smtp.messages == []


async def test_lead_with_encoded_word_address_is_refused_with_422(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp))
    c = await make_campaign(app.client, app.alice.headers)
    bad = f"=?utf-8?b?{_B64}?=@example.net"
    r = await app.client.post(
        f"{API}/campaigns/{c}/leads",
        json={"website_url": "https://example.net/", "contact_email": bad},
        headers=app.alice.headers,
    )
    assert r.status_code == 422, r.text
    assert "contact_email" in r.text
    r = await app.client.post(
        f"{API}/policy/validate",
        json={"recipient_email": "lead@example.net", "sender_email": "a=?q?x?=@sender.example"},
        headers=app.alice.headers,
    )
    assert r.status_code == 422, r.text
    assert "sender_email" in r.text
