"""Bounce classification weighs all the evidence of a report (issue 11, item 2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.inbound.bounce_rules import classify_status, pick_code
from sendwarden.inbound.model import BounceClass
from sendwarden.inbound.parse import parse_inbound
from sendwarden.mailformat import is_daemon_address, normalize_message_id, parse_enhanced_status
from sendwarden.transport.errors import DeliveryError

HARD = BounceClass.HARD
SOFT = BounceClass.SOFT
BLOCK = BounceClass.SENDER_BLOCK
OK = BounceClass.NOT_A_FAILURE


# --- the diagnostic's own code beats a disagreeing Status ---------------------------------
def test_diagnostic_code_wins_over_status_blacklisted_ip_is_sender_block() -> None:
    assert classify_status("5.1.1", "550 5.7.1 IP address 192.0.2.1 blacklisted") is BLOCK


def test_diagnostic_code_wins_over_status_over_quota_is_soft() -> None:
    assert classify_status("5.1.1", "552 5.2.2 Over quota", "failed") is SOFT


def test_generic_status_takes_the_diagnostic_code() -> None:
    assert pick_code("5.0.0", "550 5.1.1 <x@y>... User unknown") == (5, 1, 1)
    assert classify_status("5.0.0", "550 5.1.1 <x@y>... User unknown", "failed") is HARD


def test_expired_permanent_status_over_transient_diagnostic_stays_soft() -> None:
    assert classify_status("5.4.7", "451 4.4.1 connection timed out", "failed") is SOFT


# --- address codes whose words are about our sender, rate or reputation -------------------
@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("5.1.1", "550 5.1.1 <bounces@acme.example>: Sender address rejected: User unknown"),
        ("5.1.1", "550 5.1.1 Our check says that your bounce address <b@acme.example> does not"
         " exist"),
        ("5.1.1", "550 5.1.1 Too many recipients this hour for this sender"),
        ("5.2.1", "550 5.2.1 The user you are trying to contact is receiving mail at a rate that"
         " prevents additional messages from being delivered"),
        ("5.1.1", "553 5.1.1 your IP is listed, see https://www.spamhaus.org/query/ip/192.0.2.1"),
        ("5.2.1", "550 5.2.1 Mailbox unavailable. Your IP is blocked, see spamcop.net"),
        ("5.1.0", "553 5.1.0 Sender rejected: sender domain has no valid MX"),
    ],
)  # fmt: skip
def test_address_code_about_the_sender_is_sender_side_never_hard(status: str, text: str) -> None:
    assert classify_status(status, text, "failed") is BLOCK


def test_rejection_at_mail_from_in_the_human_part_is_sender_side() -> None:
    context = "host mx.example[192.0.2.1] said: 550 5.1.1 ... (in reply to MAIL FROM command)"
    assert classify_status("5.1.1", "550 5.1.1 User unknown", "failed", context) is BLOCK
    rcpt = context.replace("MAIL FROM", "RCPT TO")
    assert classify_status("5.1.1", "550 5.1.1 User unknown", "failed", rcpt) is HARD


# --- routing and DNS trouble ---------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Host or domain name not found. Name service error for name=x.example type=MX: Host not"
        " found, try again",
        "554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain",
        "554 5.4.4 DNS lookup timed out for x.example",
    ],
)
def test_dns_failure_5_4_4_is_not_a_hard_bounce(text: str) -> None:
    assert classify_status("5.4.4", text, "failed") is SOFT


def test_name_service_error_under_an_address_code_is_soft() -> None:
    text = "Name service error for name=x.example type=MX: Host not found, try again"
    assert classify_status("5.1.2", text, "failed") is SOFT


# --- generic codes decided by the words ------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["550 User unknown", "Address not found", "550 no such domain", "550 Host unknown (Name"
     " server: gone.example: host not found)", "550 Unknown user"],
)  # fmt: skip
def test_generic_status_with_address_words_is_hard(text: str) -> None:
    assert classify_status("5.0.0", text, "failed") is HARD
    assert classify_status(None, text, "failed") is HARD


def test_generic_status_reads_the_human_part_when_the_diagnostic_is_silent() -> None:
    assert classify_status("5.0.0", None, "failed", "<<< 550 Unknown user") is HARD
    assert classify_status("5.0.0", None, "failed", "the mail system said nothing") is SOFT


# --- 5.7.x -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "550 5.7.1 User Unknown",
        "550 5.7.1 Recipient account has been disabled",
        "550 5.7.1 Requested action not taken: mailbox does not exist",
    ],
)
def test_policy_code_saying_the_user_does_not_exist_is_hard(text: str) -> None:
    assert classify_status("5.7.1", text, "failed") is HARD


def test_policy_code_saying_our_sender_does_not_exist_stays_sender_side() -> None:
    text = "550 5.7.1 Sender address does not exist or is not verified"
    assert classify_status("5.7.1", text, "failed") is BLOCK


def test_policy_code_with_block_words_stays_sender_side() -> None:
    text = "550 5.7.1 Message rejected by our anti-spam policy; user unknown to the filter"
    assert classify_status("5.7.1", text, "failed") is BLOCK


# --- success codes --------------------------------------------------------------------------
def test_success_code_is_never_a_failure() -> None:
    assert classify_status("2.0.0", "250 2.0.0 Ok: queued as 4XkQ", "delivered") is OK
    assert classify_status("2.1.5", "250 2.1.5 Recipient ok", "failed") is OK


@given(
    st.integers(0, 9),
    st.integers(0, 9),
    st.sampled_from(["delivered", "relayed", "expanded", "failed", None]),
    st.text(alphabet=st.characters(codec="ascii"), max_size=60),
)
def test_any_success_status_without_a_failure_code_is_not_a_failure(
    subject: int, detail: int, action: str | None, words: str
) -> None:
    text = "".join(ch for ch in words if not ch.isdigit())  # no failure code sneaks in
    assert classify_status(f"2.{subject}.{detail}", text, action) is OK


@given(
    st.integers(0, 9).filter(lambda d: d not in (7, 8)),
    st.sampled_from(
        [
            "Sender address rejected",
            "listed at zen.spamhaus.org",
            "too many recipients this hour",
            "receiving mail at a rate that prevents additional messages",
            "your IP is blocked",
            "in reply to MAIL FROM command",
        ]
    ),
    st.sampled_from(["", "550 ", "553 "]),
)
def test_sender_side_words_never_make_an_address_code_hard(
    detail: int, words: str, prefix: str
) -> None:
    for status in (f"5.1.{detail}", "5.2.1"):
        assert classify_status(status, f"{prefix}{status} {words}", "failed") is not HARD


# --- one home for shared mail syntax ------------------------------------------------------
def test_transport_and_inbound_share_the_enhanced_status_parser() -> None:
    error = DeliveryError("rcpt", code=550, server_message="5.1.1 <x@y>: User unknown")
    assert error.enhanced_status == parse_enhanced_status("5.1.1 <x@y>: User unknown") == "5.1.1"


def test_daemon_addresses_and_message_ids_are_recognised_once() -> None:
    assert is_daemon_address("MAILER-DAEMON@mx.example")
    assert is_daemon_address("postmaster@mx.example")
    assert not is_daemon_address("anna@mx.example")
    assert normalize_message_id("x <a@b> <c@d>") == "<a@b>"
    assert normalize_message_id("a@b") == "<a@b>"


# --- text bounces: who is a recipient ------------------------------------------------------
def _text_bounce(body: str) -> list[tuple[str, BounceClass]]:
    head = "From: MAILER-DAEMON@mx.example\nTo: bounces@acme.example\nSubject: Undeliverable\n"
    raw = f"{head}\n{body}"
    parsed = parse_inbound(raw.encode())
    return [(b.recipient, b.classification) for b in parsed.bounces]


def test_envelope_sender_wrapped_across_lines_is_not_a_recipient() -> None:
    body = (
        "The original message was sent by\n  <bounces+sw.4f1c-\n"
        "  jan=northwind.example@acme.example>\n"
        "and could not be delivered to:\n\n  <jan@northwind.example>\n"
        "    550 5.1.1 mailbox unavailable\n"
    )
    assert _text_bounce(body) == [("jan@northwind.example", HARD)]


def test_sentence_ending_above_an_address_is_not_a_wrapped_token() -> None:
    body = (
        "Not delivered to the following recipient.\njan@northwind.example\n550 5.1.1 no such user\n"
    )
    assert _text_bounce(body) == [("jan@northwind.example", HARD)]


def test_verdict_given_above_the_address_is_read() -> None:
    body = "以下の宛先のユーザが存在しません。\n  taro@carrier.example\n"
    assert _text_bounce(body) == [("taro@carrier.example", HARD)]


def test_transcript_success_reply_is_no_failure_for_that_recipient() -> None:
    body = (
        ">>> RCPT To:<a@x.example>\n<<< 250 2.1.5 <a@x.example>... Recipient ok\n"
        ">>> RCPT To:<b@x.example>\n<<< 550 5.1.1 <b@x.example>... User unknown\n"
    )
    assert _text_bounce(body) == [("a@x.example", OK), ("b@x.example", HARD)]


def test_generic_code_with_its_own_verdict_ignores_the_human_part() -> None:
    context = "Messages are checked against our anti-spam policy."
    assert classify_status("5.0.0", "550 mailbox unavailable", "failed", context) is HARD


def test_postfix_access_rule_under_5_7_1_is_not_a_mailbox_verdict() -> None:
    text = "554 5.7.1 <x@y.example>: Recipient address rejected: Access denied"
    assert classify_status("5.7.1", text, "failed") is BLOCK
