"""parse_inbound: message kinds, header fields, auto-replies, robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendwarden.inbound.model import (
    SUPPRESSING_REPLY_CLASSES,
    InboundKind,
    InboundParseError,
    ParsedInbound,
    ReplyClass,
)
from sendwarden.inbound.parse import parse_inbound


def _mail(body: str, *headers: str, subject: str = "Re: Pipeline costs") -> bytes:
    head = [
        "From: Bob Example <bob@example.org>",
        "To: anna@acme.example",
        f"Subject: {subject}",
        "Message-ID: <reply-1@example.org>",
        "In-Reply-To: <ours-1@acme.example>",
        "References: <ours-0@acme.example> <ours-1@acme.example>",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


# --- unusable input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n\r\n", b"just some text\nwithout any header\n", b"\x00\x01\x02\xff" * 50],
)
def test_unusable_input_raises_inbound_parse_error(raw: bytes) -> None:
    with pytest.raises(InboundParseError):
        parse_inbound(raw)


def test_non_bytes_input_raises_inbound_parse_error() -> None:
    with pytest.raises(InboundParseError):
        parse_inbound("From: a@b.example\n\nhi")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_ever_raise_inbound_parse_error(raw: bytes) -> None:
    try:
        assert isinstance(parse_inbound(raw), ParsedInbound)
    except InboundParseError as exc:
        # Only "unusable input" reasons; an internal error would be a bug, not bad input.
        assert exc.__cause__ is None, repr(exc.__cause__)


_HEADER_NAMES = st.sampled_from(
    ["From", "To", "Subject", "Content-Type", "Message-ID", "Auto-Submitted", "X-Junk", "Date"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, st.text(max_size=60)), min_size=1, max_size=6),
    st.text(max_size=500),
)
def test_any_message_with_a_from_header_is_interpreted(
    headers: list[tuple[str, str]], body: str
) -> None:
    lines = ["From: bob@example.org"]
    lines += [f"{name}: {' '.join(value.split())}" for name, value in headers]
    raw = "\r\n".join(lines) + "\r\n\r\n" + body
    parsed = parse_inbound(raw.encode("utf-8", errors="surrogateescape"))
    assert parsed.kind in set(InboundKind)


# --- header fields -------------------------------------------------------------------------


def test_reply_header_fields_are_normalised() -> None:
    parsed = parse_inbound(_mail("Thanks, what does it cost?"))
    assert parsed.kind is InboundKind.REPLY
    assert parsed.message_id == "<reply-1@example.org>"
    assert parsed.from_address == "bob@example.org"
    assert parsed.subject == "Re: Pipeline costs"
    assert parsed.in_reply_to == "<ours-1@acme.example>"
    assert parsed.references == ("<ours-0@acme.example>", "<ours-1@acme.example>")
    assert parsed.original_message_id is None
    assert parsed.bounces == ()


def test_bare_in_reply_to_gets_angle_brackets() -> None:
    raw = _mail("ok").replace(b"In-Reply-To: <ours-1@acme.example>", b"In-Reply-To: ours-1@acme.x")
    assert parse_inbound(raw).in_reply_to == "<ours-1@acme.x>"


def test_rfc2047_subject_is_decoded() -> None:
    raw = _mail("ok", subject="=?utf-8?q?AW=3A_Pipeline-Kosten_senken_=C3=BC?=")
    assert parse_inbound(raw).subject == "AW: Pipeline-Kosten senken ü"


# --- replies -------------------------------------------------------------------------------


def test_reply_quoting_our_footer_is_not_unsubscribe_request() -> None:
    body = (
        "Which plan fits a team of five?\r\n\r\n"
        "On Tue, Nov 5, 2024 at 9:12 AM Anna <anna@acme.example> wrote:\r\n"
        "> Would you be interested in a copy?\r\n> --\r\n"
        '> To unsubscribe, reply "unsubscribe".\r\n'
    )
    parsed = parse_inbound(_mail(body))
    assert parsed.reply_text == "Which plan fits a team of five?"
    assert parsed.reply_class is ReplyClass.REPLIED


def test_reply_quoting_interested_with_negated_new_text_is_not_interested() -> None:
    body = "Not interested.\r\n\r\n-----Original Message-----\r\nWould you be interested?\r\n"
    assert parse_inbound(_mail(body)).reply_class is ReplyClass.NOT_INTERESTED


def test_html_only_reply_is_classified_from_its_text() -> None:
    raw = _mail(
        "<div>Please remove me from your list.</div><blockquote>Interested?</blockquote>",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=utf-8",
    )
    parsed = parse_inbound(raw)
    assert parsed.reply_text == "Please remove me from your list."
    assert parsed.reply_class is ReplyClass.UNSUBSCRIBE_REQUEST


def test_unknown_charset_is_decoded_with_replacement() -> None:
    raw = _mail("", "MIME-Version: 1.0", "Content-Type: text/plain; charset=x-nope")
    raw += "Kein Interesse. Grüße".encode("latin-1")
    parsed = parse_inbound(raw)
    assert parsed.reply_class is ReplyClass.NOT_INTERESTED
    assert parsed.reply_text is not None and "\ufffd" in parsed.reply_text


def test_attached_message_is_not_the_authors_text() -> None:
    raw = _mail(
        "--X\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        "--X\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\n\r\nunsubscribe\r\n"
        "--X--\r\n",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="X"',
    )
    assert parse_inbound(raw).reply_class is ReplyClass.REPLIED


# --- auto-replies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        ("Auto-Submitted: auto-replied", "Re: Pipeline costs"),
        ("Auto-Submitted: auto-generated", "Re: Pipeline costs"),
        ("X-Autoreply: yes", "Re: Pipeline costs"),
        ("X-Autorespond: Vacation", "Re: Pipeline costs"),
        ("Precedence: auto_reply", "Re: Pipeline costs"),
        ("X-Mailer: Foo", "Automatic reply: Pipeline costs"),
        ("X-Mailer: Foo", "Abwesenheitsnotiz: Pipeline-Kosten"),
        ("X-Mailer: Foo", "Réponse automatique : Pipeline"),
        ("X-Mailer: Foo", "Respuesta automática: Pipeline"),
        ("X-Mailer: Foo", "Risposta automatica: Pipeline"),
        ("X-Mailer: Foo", "Automatisch antwoord: Pipeline"),
    ],
)
def test_auto_reply_detected_by_headers_or_subject(header: str, subject: str) -> None:
    parsed = parse_inbound(_mail("Please unsubscribe me. Not interested.", header, subject=subject))
    assert parsed.kind is InboundKind.AUTO_REPLY
    assert parsed.reply_class is ReplyClass.OUT_OF_OFFICE
    assert parsed.reply_class not in SUPPRESSING_REPLY_CLASSES


def test_auto_submitted_no_is_a_normal_reply() -> None:
    parsed = parse_inbound(_mail("Not interested.", "Auto-Submitted: no"))
    assert parsed.kind is InboundKind.REPLY
    assert parsed.reply_class is ReplyClass.NOT_INTERESTED


def test_precedence_bulk_with_out_of_office_text_is_auto_reply() -> None:
    parsed = parse_inbound(_mail("Sono in ferie fino al 14 novembre.", "Precedence: bulk"))
    assert parsed.kind is InboundKind.AUTO_REPLY


def test_bulk_list_mail_without_absence_text_is_other() -> None:
    raw = _mail("Our newsletter. Unsubscribe here.", "Precedence: bulk", "List-Id: <n.example>")
    parsed = parse_inbound(raw)
    assert parsed.kind is InboundKind.OTHER
    assert parsed.reply_class is None


def test_out_of_office_text_without_headers_is_reply_out_of_office() -> None:
    parsed = parse_inbound(_mail("Ik ben afwezig tot en met 22 november."))
    assert (parsed.kind, parsed.reply_class) == (InboundKind.REPLY, ReplyClass.OUT_OF_OFFICE)


# --- bounces and other reports -------------------------------------------------------------


def test_read_receipt_report_is_other() -> None:
    raw = _mail(
        "--M\r\nContent-Type: text/plain\r\n\r\nread\r\n--M\r\n"
        "Content-Type: message/disposition-notification\r\n\r\nDisposition: displayed\r\n--M--\r\n",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="M"',
    )
    assert parse_inbound(raw).kind is InboundKind.OTHER


def test_unreadable_daemon_message_is_other_not_a_guessed_bounce() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: anna@acme.example\r\n"
        b"Subject: Returned mail\r\n\r\nSomething went wrong somewhere.\r\n"
    )
    parsed = parse_inbound(raw)
    assert parsed.kind is InboundKind.OTHER
    assert parsed.bounces == ()


def test_human_forward_of_a_bounce_is_a_reply() -> None:
    body = (
        "FYI, your mail bounced.\r\n\r\n---------- Forwarded message ---------\r\n"
        "This message was created automatically by mail delivery software.\r\n"
        "  someone@example.org\r\n    550 5.1.1 User unknown\r\n"
    )
    parsed = parse_inbound(_mail(body, subject="Fwd: Mail delivery failed"))
    assert parsed.kind is InboundKind.REPLY
    assert parsed.bounces == ()


def test_non_standard_bounce_detected_by_body_signature() -> None:
    raw = (
        b"From: Mail System <mailsys@mx.example.org>\r\nTo: anna@acme.example\r\n"
        b"Subject: Your message\r\n\r\n"
        b"Hi. This is the qmail-send program at mx.example.org.\r\n\r\n"
        b"<gone@example.org>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"
    )
    parsed = parse_inbound(raw)
    assert parsed.kind is InboundKind.BOUNCE
    assert [(b.recipient, b.classification.value) for b in parsed.bounces] == [
        ("gone@example.org", "hard")
    ]


# --- machine reports and calendar mail ------------------------------------------------------


def _with_attachment(ctype: str, filename: str, *headers: str, subject: str, text: str) -> bytes:
    body = (
        f"--A\r\nContent-Type: text/plain\r\n\r\n{text}\r\n"
        f'--A\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename="{filename}"'
        "\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBBQAAAAIAA==\r\n--A--\r\n"
    )
    return _mail(body, "MIME-Version: 1.0", *headers, subject=subject)


@pytest.mark.parametrize(
    "subject",
    [
        "Report domain: acme.example Submitter: google.com Report-ID: 123",
        "[Preview] Report Domain: acme.example Submitter: protection.outlook.com Report-ID: x",
        "DMARC Aggregate Report for acme.example",
    ],
)
def test_dmarc_aggregate_report_subject_is_other(subject: str) -> None:
    raw = _with_attachment(
        "application/zip",
        "report.zip",
        'Content-Type: multipart/mixed; boundary="A"',
        subject=subject,
        text="This is an aggregate report.",
    )
    parsed = parse_inbound(raw)
    assert (parsed.kind, parsed.reply_class) == (InboundKind.OTHER, None)


def test_dmarc_report_file_name_alone_makes_it_other() -> None:
    raw = _with_attachment(
        "application/gzip",
        "mx.example.net!acme.example!1730764800!1730851199.xml.gz",
        'Content-Type: multipart/mixed; boundary="A"',
        subject="Daily summary",
        text="Attached.",
    )
    assert parse_inbound(raw).kind is InboundKind.OTHER


def test_archive_from_a_dmarc_sender_is_other() -> None:
    raw = _with_attachment(
        "application/x-gzip",
        "summary.gz",
        'Content-Type: multipart/mixed; boundary="A"',
        subject="Summary",
        text="Attached.",
    ).replace(b"From: Bob Example <bob@example.org>", b"From: noreply-dmarc-support@mx.example")
    assert parse_inbound(raw).kind is InboundKind.OTHER


def test_human_reply_with_a_zip_attachment_is_still_a_reply() -> None:
    raw = _with_attachment(
        "application/zip",
        "specs.zip",
        'Content-Type: multipart/mixed; boundary="A"',
        subject="Re: Pipeline costs",
        text="Sounds good, specs attached.",
    )
    assert parse_inbound(raw).reply_class is ReplyClass.INTERESTED


def test_multipart_report_without_report_type_is_other() -> None:
    raw = _with_attachment(
        "application/gzip",
        "data.gz",
        'Content-Type: multipart/report; boundary="A"',
        subject="Report",
        text="Not interested.",
    )
    assert parse_inbound(raw).kind is InboundKind.OTHER


def _calendar(method: str, *, in_param: bool, disposition: str = "inline") -> bytes:
    param = f"; method={method}" if in_param else ""
    body = (
        "--C\r\nContent-Type: text/plain\r\n\r\nNot interested? Join the call.\r\n"
        f"--C\r\nContent-Type: text/calendar{param}\r\nContent-Disposition: {disposition}\r\n\r\n"
        f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\nSUMMARY:Call\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n--C--\r\n"
    )
    return _mail(body, "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="C"')


@pytest.mark.parametrize("method", ["REQUEST", "REPLY", "CANCEL", "COUNTER"])
@pytest.mark.parametrize("in_param", [True, False])
def test_calendar_invitation_or_answer_is_other(method: str, in_param: bool) -> None:
    parsed = parse_inbound(_calendar(method, in_param=in_param))
    assert (parsed.kind, parsed.reply_class) == (InboundKind.OTHER, None)


def test_published_ics_attachment_on_a_reply_keeps_it_a_reply() -> None:
    parsed = parse_inbound(_calendar("PUBLISH", in_param=False, disposition="attachment"))
    assert parsed.kind is InboundKind.REPLY


def test_invitation_inside_a_forwarded_message_does_not_make_the_reply_other() -> None:
    body = (
        "--X\r\nContent-Type: text/plain\r\n\r\nSee the invite below, what is this?\r\n"
        "--X\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.example\r\n"
        "Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n"
        "METHOD:REQUEST\r\nEND:VCALENDAR\r\n--X--\r\n"
    )
    raw = _mail(body, "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="X"')
    assert parse_inbound(raw).kind is InboundKind.REPLY
