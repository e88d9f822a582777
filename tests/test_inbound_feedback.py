"""ARF complaint reports."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sendwarden.inbound.feedback import is_feedback_report, is_not_a_complaint, parse_arf
from sendwarden.inbound.model import InboundKind
from sendwarden.inbound.parse import parse_inbound

ARF = """
From: Feedback Loop <fbl@isp.example>
To: fbl@acme.example
Subject: Complaint
Message-ID: <fbl-1@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ISP-FBL/1.0
Version: 1
{rcpt_field}Original-Mail-From: <bounces@acme.example>

--F
Content-Type: {returned_type}

From: Anna <anna@acme.example>
To: Person <person@example.org>
Subject: Hello
Message-ID: <ours-42@acme.example>

--F--
"""


def _arf(
    rcpt_field: str = "Original-Rcpt-To: reporter@example.org\n",
    returned_type: str = "message/rfc822",
) -> EmailMessage:
    raw = ARF.format(rcpt_field=rcpt_field, returned_type=returned_type).lstrip().encode()
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_arf_uses_original_rcpt_to_and_returned_message_id() -> None:
    assert parse_arf(_arf()) == ("reporter@example.org", "<ours-42@acme.example>")


def test_arf_without_original_rcpt_to_falls_back_to_original_to() -> None:
    assert parse_arf(_arf(rcpt_field="")) == ("person@example.org", "<ours-42@acme.example>")


def test_arf_with_text_rfc822_headers_part() -> None:
    msg = _arf(returned_type="text/rfc822-headers")
    assert parse_arf(msg) == ("reporter@example.org", "<ours-42@acme.example>")


def test_arf_angle_bracketed_original_rcpt_to_is_bare() -> None:
    msg = _arf(rcpt_field="Original-Rcpt-To: <reporter@example.org>\n")
    assert parse_arf(msg)[0] == "reporter@example.org"


def test_non_arf_message_is_not_a_feedback_report() -> None:
    msg = message_from_bytes(b"From: a@b.example\nSubject: hi\n\nhello\n", policy=policy.default)
    assert not is_feedback_report(msg)
    assert parse_arf(msg) == (None, None)


def test_parse_inbound_reports_complaint_kind() -> None:
    raw = ARF.format(rcpt_field="", returned_type="message/rfc822").lstrip().encode()
    parsed = parse_inbound(raw)
    assert parsed.kind is InboundKind.COMPLAINT
    assert parsed.complaint_recipient == "person@example.org"
    assert parsed.original_message_id == "<ours-42@acme.example>"
    assert parsed.bounces == () and parsed.reply_class is None


def _arf_of_type(feedback_type: str) -> bytes:
    raw = ARF.format(rcpt_field="", returned_type="message/rfc822").lstrip()
    return raw.replace("Feedback-Type: abuse", f"Feedback-Type: {feedback_type}").encode()


def test_dmarc_auth_failure_report_is_not_a_complaint() -> None:
    raw = _arf_of_type("auth-failure")
    msg = message_from_bytes(raw, policy=policy.default)
    assert is_feedback_report(msg) and is_not_a_complaint(msg)
    parsed = parse_inbound(raw)
    assert parsed.kind is InboundKind.OTHER
    assert parsed.complaint_recipient is None


def test_not_spam_feedback_is_not_a_complaint() -> None:
    assert parse_inbound(_arf_of_type("not-spam")).kind is InboundKind.OTHER


def test_fraud_and_unknown_feedback_types_stay_complaints() -> None:
    assert parse_inbound(_arf_of_type("fraud")).kind is InboundKind.COMPLAINT
    assert parse_inbound(_arf_of_type("something-new")).kind is InboundKind.COMPLAINT
