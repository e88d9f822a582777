"""Complaints in every format (issue 11 item 3): own labelled samples, parsed and polled."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendwarden.inbound.model import BounceClass, InboundKind
from sendwarden.inbound.parse import parse_inbound
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness
from tests.test_inbound_polling import app, folder, poll, sent_to, suppressions  # noqa: F401

SAMPLES = Path(__file__).parent / "data" / "inbound" / "complaints"
RECIPIENT = "reader@webmail.example"
MESSAGE_ID = "<6f1c0a2e9b7d4e55a1c3@sender.example>"

# sample -> (kind, how the complainer is found, or the bounce class)
LABELS: dict[str, tuple[InboundKind, str]] = {
    "jmrp_arf": (InboundKind.COMPLAINT, "X-HmXmrOriginalRecipient in the attached original"),
    "jmrp_legacy_mixed": (InboundKind.COMPLAINT, "multipart/mixed JMRP, message/rfc822"),
    "hotmail_plain_text": (InboundKind.COMPLAINT, "headers pasted into a text/plain report"),
    "removal_recipient_arf": (InboundKind.COMPLAINT, "Removal-Recipient, To redacted"),
    "headers_only_report": (InboundKind.COMPLAINT, "non-ARF report, text/rfc822-headers"),
    "ses_sns_email_json_complaint": (InboundKind.COMPLAINT, "SNS email-json wrapper"),
    "ses_sns_email_bounce": (InboundKind.BOUNCE, "SNS email: notification JSON + footer"),
}


def render(name: str, *, recipient: str, message_id: str, ident: str) -> bytes:
    text = (SAMPLES / f"{name}.eml.tmpl").read_text("utf-8")
    text = text.replace("{{RECIPIENT}}", recipient).replace("{{MESSAGE_ID}}", message_id)
    return text.replace("{{IDENT}}", ident).replace("\n", "\r\n").encode()


def test_every_complaint_sample_is_labelled() -> None:
    names = {p.name.removesuffix(".eml.tmpl") for p in SAMPLES.glob("*.eml.tmpl")}
    assert names == set(LABELS)


@pytest.mark.parametrize("name", sorted(LABELS))
def test_complaint_sample_parses_as_labelled(name: str) -> None:
    parsed = parse_inbound(render(name, recipient=RECIPIENT, message_id=MESSAGE_ID, ident="x1"))
    kind, _ = LABELS[name]
    assert parsed.kind == kind
    assert parsed.original_message_id == MESSAGE_ID
    if kind == InboundKind.COMPLAINT:
        assert parsed.complaint_recipient == RECIPIENT
    else:
        [bounce] = parsed.bounces
        assert (bounce.recipient, bounce.classification) == (RECIPIENT, BounceClass.HARD)


def test_ses_not_spam_feedback_is_not_a_complaint() -> None:
    raw = render(
        "ses_sns_email_json_complaint", recipient=RECIPIENT, message_id=MESSAGE_ID, ident="ns"
    ).replace(b'complaintFeedbackType\\":\\"abuse', b'complaintFeedbackType\\":\\"not-spam')
    assert parse_inbound(raw).kind != InboundKind.COMPLAINT


def test_human_reply_mentioning_spam_is_not_a_complaint() -> None:
    raw = (
        b"From: Editor <editor@blog.example>\r\nTo: outreach@sender.example\r\n"
        b"Subject: Re: Guest post\r\nMessage-ID: <h1@blog.example>\r\n"
        b"In-Reply-To: <6f1c0a2e9b7d4e55a1c3@sender.example>\r\n\r\n"
        b"Your first mail went to my spam folder, but yes, send a draft.\r\n"
    )
    assert parse_inbound(raw).kind == InboundKind.REPLY


@pytest.mark.parametrize("name", sorted(LABELS))
async def test_complaint_format_through_real_imap_suppresses_recipient(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
    name: str,
) -> None:
    sent = await sent_to(app, f"{name.replace('_', '.')}@webmail.example")
    dovecot_server.append(
        render(name, recipient=sent.recipient, message_id=sent.message_id, ident=name), folder
    )
    report = await poll(app, dovecot_server, folder)
    kind, _ = LABELS[name]
    [row] = await suppressions(app)
    assert (row.value, row.user_id) == (sent.recipient, app.alice.user_id)
    if kind == InboundKind.COMPLAINT:
        assert report.complaints == 1 and row.source == "complaint"
    else:
        assert report.bounces == 1 and row.source == "bounce"
