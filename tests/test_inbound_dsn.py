"""Bounce classification (RFC 3463 codes first, text second) and DSN parsing."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.inbound import bounce_phrases as phrases
from sendwarden.inbound.bounce_rules import _recipient_gone as recipient_gone
from sendwarden.inbound.bounce_rules import _sender_side as sender_side
from sendwarden.inbound.dsn import classify_smtp_reply, classify_status, parse_dsn
from sendwarden.inbound.model import BounceClass

HARD, SOFT, BLOCK, OK = (
    BounceClass.HARD,
    BounceClass.SOFT,
    BounceClass.SENDER_BLOCK,
    BounceClass.NOT_A_FAILURE,
)


def _msg(raw: str) -> EmailMessage:
    parsed = message_from_bytes(raw.lstrip().encode(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- classify_status -----------------------------------------------------------------------


def test_hard_bounce_5_1_1_is_hard() -> None:
    assert classify_status("5.1.1", "smtp; 550 5.1.1 User unknown", "failed") is HARD


def test_disabled_mailbox_5_2_1_is_hard() -> None:
    assert classify_status("5.2.1", "550 5.2.1 The email account is disabled", "failed") is HARD


def test_exchange_recipient_not_found_5_1_10_is_hard() -> None:
    assert classify_status("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound") is HARD


def test_policy_block_5_7_1_is_sender_block() -> None:
    assert classify_status("5.7.1", "554 5.7.1 Service unavailable", "failed") is BLOCK


def test_dmarc_5_7_26_is_sender_block_never_hard() -> None:
    text = "550-5.7.26 This mail has been blocked because the sender is unauthenticated"
    assert classify_status("5.7.26", text, "failed") is BLOCK


def test_sender_address_codes_5_1_7_and_5_1_8_are_sender_block() -> None:
    assert classify_status("5.1.7", "bad sender mailbox syntax") is BLOCK
    assert classify_status("5.1.8", "sender domain does not resolve") is BLOCK


def test_delayed_action_is_soft() -> None:
    assert classify_status(None, "connection timed out", "delayed") is SOFT


def test_transient_4_4_1_is_soft() -> None:
    assert classify_status("4.4.1", "451 4.4.1 timed out", "failed") is SOFT


def test_transient_policy_4_7_0_is_sender_block() -> None:
    assert classify_status("4.7.0", "421 4.7.0 Try again later", "delayed") is BLOCK


def test_greylisting_stays_soft() -> None:
    assert classify_status("4.7.1", "450 4.7.1 Recipient address rejected: Greylisted") is SOFT


def test_mailbox_full_5_2_2_is_soft() -> None:
    assert classify_status("5.2.2", "552 5.2.2 Mailbox full", "failed") is SOFT


def test_message_too_large_5_2_3_is_sender_block() -> None:
    assert classify_status("5.2.3", "552 5.2.3 Message size exceeds limit") is BLOCK


def test_mail_system_5_3_x_is_soft() -> None:
    assert classify_status("5.3.2", "System not accepting network messages") is SOFT


def test_unroutable_domain_5_4_4_alone_is_not_a_hard_bounce() -> None:
    # Issue 11: a routing/DNS failure is not proof the recipient's address is dead.
    assert classify_status("5.4.4", "Host or domain name not found") is SOFT
    text = "Host or domain name not found. Name service error for name=x.example type=MX"
    assert classify_status("5.4.4", text, "failed") is SOFT


def test_office365_access_denied_5_4_1_is_hard() -> None:
    text = "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"
    assert classify_status("5.4.1", text, "failed") is HARD


def test_generic_code_with_blocked_text_is_sender_block() -> None:
    assert classify_status("5.0.0", "550 Message blocked by our policy", "failed") is BLOCK
    assert classify_status("5.5.0", "550 5.5.0 listed at zen.spamhaus.org", "failed") is BLOCK


def test_reputation_text_without_code_is_sender_block() -> None:
    assert classify_status(None, "554 rejected due to poor sender reputation") is BLOCK


def test_user_unknown_without_enhanced_code_is_hard() -> None:
    assert classify_status(None, "550 No such user here", "failed") is HARD
    assert classify_status(None, "550 Requested action not taken: mailbox unavailable") is HARD
    assert classify_status(None, "The address does not exist", "failed") is HARD


def test_generic_status_uses_specific_code_from_diagnostic() -> None:
    assert classify_status("5.0.0", "smtp; 550 5.1.1 <a@b.example>: User unknown") is HARD
    assert classify_status("5.0.0", "smtp; 550 5.7.1 Rejected", "failed") is BLOCK


def test_unexplained_permanent_failure_is_soft() -> None:
    assert classify_status("5.0.0", "550 Requested action not taken", "failed") is SOFT


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded", "Relayed"])
def test_success_actions_are_not_a_failure(action: str) -> None:
    assert classify_status("2.0.0", "250 OK", action) is OK


def test_ip_address_is_not_read_as_a_status_code() -> None:
    assert classify_status(None, "host 5.1.1.9 said: mailbox full", "failed") is SOFT


@given(st.text(max_size=300), st.sampled_from([None, "failed", "delayed", "delivered", "x"]))
def test_classify_status_total_on_arbitrary_text(text: str, action: str | None) -> None:
    assert classify_status(text, text, action) in set(BounceClass)


@given(detail=st.integers(0, 999), text=st.text(max_size=200))
def test_5_7_x_is_a_recipient_failure_only_when_the_text_says_the_user_is_gone(
    detail: int, text: str
) -> None:
    # Issue 11: a 5.7.x whose text says the user does not exist is hard; any other 5.7.x
    # is a block on our side and never suppresses the recipient.
    verdict = classify_status(f"5.7.{detail}", text, "failed")
    if not recipient_gone(text):
        assert verdict is BLOCK
    else:
        assert verdict in (BLOCK, HARD)


@given(detail=st.sampled_from([1, 2, 3, 4, 5, 6, 10]), text=st.text(max_size=200))
def test_specific_address_codes_are_hard_unless_the_text_is_about_our_sender(
    detail: int, text: str
) -> None:
    # Issue 11: evidence beats one field. A 5.1.x is hard unless its words put the trouble
    # elsewhere: our sender, rate or reputation (a block on our side), a full mailbox or a
    # DNS/route failure (soft); and it is never "not a failure".
    verdict = classify_status(f"5.1.{detail}", text, "failed")
    elsewhere = sender_side(text) or phrases.QUOTA.search(text) or phrases.DNS_TROUBLE.search(text)
    assert verdict is HARD if not elsewhere else verdict in (HARD, BLOCK, SOFT)
    if sender_side(text) and not phrases.STRONG_HARD.search(text):
        assert verdict is BLOCK


# --- classify_smtp_reply (send-time rejections) ------------------------------------------


def test_smtp_rcpt_550_5_1_1_is_hard() -> None:
    assert classify_smtp_reply(550, "5.1.1", "User unknown") is HARD


def test_smtp_enhanced_code_taken_from_text() -> None:
    assert classify_smtp_reply(550, None, "5.7.1 Client host blocked") is BLOCK


def test_smtp_4xx_is_soft() -> None:
    assert classify_smtp_reply(452, "4.2.2", "Mailbox full, try later") is SOFT


def test_smtp_421_policy_is_sender_block() -> None:
    assert classify_smtp_reply(421, "4.7.0", "Temporarily rate limited") is BLOCK


def test_smtp_success_is_not_a_failure() -> None:
    assert classify_smtp_reply(250, "2.1.5", "Ok") is OK


def test_smtp_reply_class_wins_over_mismatched_enhanced_code() -> None:
    assert classify_smtp_reply(450, "5.1.1", "User unknown") is SOFT


def test_smtp_554_without_enhanced_code_but_spam_text_is_sender_block() -> None:
    assert classify_smtp_reply(554, None, "Message rejected as spam") is BLOCK


# --- parse_dsn -----------------------------------------------------------------------------

RFC3464 = """
From: MAILER-DAEMON@mx.example.net
To: bounces@acme.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; alias-target@lists.example.org
Original-Recipient: rfc822;someone@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

Final-Recipient: rfc822; other@example.org
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 554 5.7.1 blocked
 using bl.example

--B
Content-Type: message/rfc822

From: Anna <anna@acme.example>
To: someone@example.org
Message-ID: <orig-1@acme.example>

body
--B--
"""


def test_rfc3464_recipients_and_original_message_id() -> None:
    recipients, original = parse_dsn(_msg(RFC3464))
    assert original == "<orig-1@acme.example>"
    assert [(r.recipient, r.classification) for r in recipients] == [
        ("someone@example.org", HARD),
        ("other@example.org", BLOCK),
    ]


def test_rfc3464_keeps_action_status_and_unfolded_diagnostic() -> None:
    recipients, _ = parse_dsn(_msg(RFC3464))
    assert recipients[0].action == "failed"
    assert recipients[0].status == "5.1.1"
    assert recipients[1].status == "5.7.1"
    assert recipients[1].diagnostic == "554 5.7.1 blocked using bl.example"


QMAIL = """
From: MAILER-DAEMON@mx.example.org
To: bounces@acme.example
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@example.org>:
Sorry, no mailbox here by that name. (#5.1.1)

<full@example.org>:
The users mailbox is full. (#5.2.2)

--- Below this line is a copy of the message.

Return-Path: <bounces@acme.example>
From: Anna <anna@acme.example>
To: gone@example.org, full@example.org
Message-ID: <orig-q@acme.example>

hello
"""


def test_qmail_text_bounce_per_recipient() -> None:
    recipients, original = parse_dsn(_msg(QMAIL))
    assert original == "<orig-q@acme.example>"
    assert {r.recipient: (r.status, r.classification) for r in recipients} == {
        "gone@example.org": ("5.1.1", HARD),
        "full@example.org": ("5.2.2", SOFT),
    }


EXIM_SENDER_REJECTED = """
From: Mail Delivery System <Mailer-Daemon@relay.acme.example>
To: bounces@acme.example
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  target@example.org
    host mx.example.org [192.0.2.1]
    SMTP error from remote mail server after MAIL FROM:<bounces@acme.example> SIZE=2048:
    550 Sender rejected: your domain has a poor reputation

------ This is a copy of the message, including all the headers. ------

From: anna@acme.example
To: target@example.org
Message-ID: <orig-e@acme.example>
"""


def test_exim_text_bounce_ignores_our_own_address_and_reads_block() -> None:
    recipients, original = parse_dsn(_msg(EXIM_SENDER_REJECTED))
    assert original == "<orig-e@acme.example>"
    assert [(r.recipient, r.classification) for r in recipients] == [("target@example.org", BLOCK)]


def test_exim_delay_warning_is_delayed_and_soft() -> None:
    raw = EXIM_SENDER_REJECTED.replace(
        "could not be delivered to one or more of its\nrecipients. This is a permanent error.",
        "has not yet been delivered to one or more of its\nrecipients after 24 hours.",
    ).replace("550 Sender rejected: your domain has a poor reputation", "451 4.4.1 timeout")
    recipients, _ = parse_dsn(_msg(raw))
    assert [(r.action, r.classification) for r in recipients] == [("delayed", SOFT)]


def test_dsn_without_any_reference_has_no_original_id() -> None:
    raw = RFC3464.split("--B\nContent-Type: message/rfc822")[0] + "--B--\n"
    _, original = parse_dsn(_msg(raw))
    assert original is None


def test_original_message_id_found_in_body_text_as_last_resort() -> None:
    raw = QMAIL.replace("--- Below this line is a copy of the message.\n", "")
    _, original = parse_dsn(_msg(raw))
    assert original == "<orig-q@acme.example>"


def test_original_id_from_x_original_message_id_when_nothing_is_returned() -> None:
    raw = RFC3464.split("--B\nContent-Type: message/rfc822")[0] + "--B--\n"
    raw = raw.replace(
        "Reporting-MTA: dns; mx.example.net",
        "Reporting-MTA: dns; mx.example.net\nX-Original-Message-ID: <gm-1@acme.example>",
    )
    _, original = parse_dsn(_msg(raw))
    assert original == "<gm-1@acme.example>"


def test_original_id_from_report_in_reply_to_as_last_resort() -> None:
    raw = RFC3464.split("--B\nContent-Type: message/rfc822")[0] + "--B--\n"
    raw = raw.replace(
        "Subject: Undelivered", "In-Reply-To: <irt-1@acme.example>\nSubject: Undelivered"
    )
    _, original = parse_dsn(_msg(raw))
    assert original == "<irt-1@acme.example>"


# --- blocklist markers and provider phrasings without a specific code -----------------------


@pytest.mark.parametrize(
    "diagnostic",
    [
        "554 IP=192.0.2.44 - A problem occurred. (Ask your postmaster for help.) (BL)",
        "554 Your IP 192.0.2.44 is listed. Contact your provider",
        "554 rejected: client host 192.0.2.44 found on a DNSBL",
        "554 5.0.0 Connection refused [BL21] by policy of the receiver",
    ],
)
def test_554_5_0_0_naming_a_blocklist_is_sender_block(diagnostic: str) -> None:
    assert classify_status("5.0.0", diagnostic, "failed") is BLOCK
    assert classify_smtp_reply(554, None, diagnostic) is BLOCK


@pytest.mark.parametrize(
    "diagnostic",
    [
        "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]",
        "554 Sorry, no mailbox here by that name",
        "554 no mailbox by that name is currently available",
        "553 Requested action not taken: mailbox name not allowed",
    ],
)
def test_554_mailbox_missing_without_enhanced_code_is_hard(diagnostic: str) -> None:
    assert classify_status(None, diagnostic, "failed") is HARD


def test_recipient_not_listed_in_directory_is_hard_not_a_blocklist() -> None:
    assert classify_status("5.0.0", "550 recipient is not listed in the directory") is HARD


def test_help_address_inside_a_text_bounce_is_not_a_recipient() -> None:
    msg = _msg(
        """
From: MAILER-DAEMON@relay.example.net
To: bounces@acme.example
Subject: failure notice

Hi. This is the qmail-send program at relay.example.net.

<gone@example.org>:
Remote host said: 554 IP=192.0.2.44 - A problem occurred. (Ask your postmaster for
help or to contact abuse-desk@rx.example.org to clarify.) (BL)
"""
    )
    bounces, _ = parse_dsn(msg)
    assert [(b.recipient, b.classification) for b in bounces] == [("gone@example.org", BLOCK)]
