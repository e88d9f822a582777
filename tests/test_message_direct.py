"""The direct message writer (transport/message_direct.py) writes exactly what the
`email` package path writes, or declines; it never writes anything else."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sendwarden.transport.errors import MessageBuildError
from sendwarden.transport.message import build_message, make_unsubscribe_links, message_bytes
from sendwarden.transport.message_direct import direct_message_bytes

BOUNDARY = re.compile(rb"={15}\d{19}==")
DATE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LINKS = make_unsubscribe_links(
    public_url="https://app.example", token="t0k.en_-x", mailbox="in@sender.example"
)

_words = st.from_regex(r"[A-Za-z0-9]{1,8}( [A-Za-z0-9]{1,8}){0,3}", fullmatch=True)
_any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_bodies = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from("ab .\r\n\x0b\x0c\x1c=-\t"), max_size=300),
    st.builds(lambda n, c: c * n, st.integers(990, 1010), st.sampled_from("aé")),
    st.just("Hello,\nI enjoyed your article.\n"),
)
_addresses = st.one_of(
    st.just("editor@site.example"),
    st.from_regex(r"[a-z0-9.+_-]{1,20}@[a-z0-9-]{1,12}\.example", fullmatch=True),
    st.sampled_from(["ed@bücher.example", "\u00e9d@site.example", '"a b"@site.example', "a@b"]),
)


def _normalised(raw: bytes) -> bytes:
    return BOUNDARY.sub(b"BOUNDARY", raw)


def _general(args: dict[str, Any]) -> bytes | type[Exception]:
    try:
        return message_bytes(build_message(**args))
    except (MessageBuildError, ValueError) as exc:
        return type(exc)


def _direct(args: dict[str, Any]) -> bytes | None | type[Exception]:
    try:
        return direct_message_bytes(**args)
    except (MessageBuildError, ValueError) as exc:
        return type(exc)


@given(
    sender_name=st.one_of(st.none(), st.just(""), _words, _any_text),
    recipient=_addresses,
    subject=st.one_of(_words, _any_text, st.text(st.sampled_from("ab ="), max_size=90)),
    text_body=_bodies,
    html_body=st.one_of(st.none(), _bodies),
    unsubscribe=st.sampled_from([None, LINKS]),
)
def test_direct_bytes_equal_the_email_package_or_decline(
    sender_name: str | None,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str | None,
    unsubscribe: Any,
) -> None:
    args = {
        "sender_email": "outreach@sender.example",
        "sender_name": sender_name,
        "recipient_email": recipient,
        "subject": subject,
        "text_body": text_body,
        "html_body": html_body,
        "message_id": "<0123abcd@sender.example>",
        "unsubscribe": unsubscribe,
        "date": DATE,
    }
    general, direct = _general(args), _direct(args)
    if isinstance(general, bytes) and isinstance(direct, bytes):
        assert _normalised(direct) == _normalised(general)
    elif direct is not None:
        assert direct == general  # the same refusal


def test_a_plain_message_is_written_directly_and_parses_back() -> None:
    raw = direct_message_bytes(
        sender_email="outreach@sender.example",
        sender_name="Outreach Team",
        recipient_email="editor@site.example",
        subject="Guest post idea",
        text_body="Hello,\nI enjoyed your article.\n",
        html_body="<p>Hello, caf\u00e9</p>",
        message_id="<0123abcd@sender.example>",
        unsubscribe=LINKS,
    )
    assert raw is not None
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "editor@site.example"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = parsed.iter_parts()
    assert plain.get_content() == "Hello,\r\nI enjoyed your article.\r\n"
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert html.get_content() == "<p>Hello, caf\u00e9</p>\r\n"
