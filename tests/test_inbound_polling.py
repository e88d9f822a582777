"""Inbound processing (product.md §6) end to end: real sends, a real Dovecot, real polls."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import func, select

from sendwarden.services.polling import poll_once
from sendwarden.storage.models import (
    AuditEntry,
    BounceEvent,
    InboundMessage,
    Lead,
    Reply,
    SenderIncident,
    Suppression,
)
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness, AppFactory
from tests.support.smtp_server import PASSWORD, USERNAME, FaultyServer

_folders = itertools.count()


@pytest.fixture
def folder(dovecot_server: DovecotServer) -> str:
    name = f"Outreach{next(_folders)}"
    dovecot_server.create_folder(name)
    return name


@pytest.fixture
async def app(
    api_factory: AppFactory, smtp: FaultyServer, dovecot_server: DovecotServer, folder: str
) -> ApiHarness:
    return await api_factory(
        smtp_host="localhost",
        smtp_port=smtp.port,
        smtp_user=USERNAME,
        smtp_pass=PASSWORD,
        smtp_ca_file=smtp.ca_file,
        imap_host="localhost",
        imap_port=dovecot_server.imap_port,  # STARTTLS; direct polls below use implicit TLS
        imap_user=dovecot_server.username,
        imap_pass=dovecot_server.password,
        imap_folder=folder,
        imap_ca_file=dovecot_server.ca_file,
        imap_fetch_limit=3,
        sendwarden_public_url="https://sw.example",
    )


class Sent:
    def __init__(self, attempt: dict[str, Any], campaign: int, lead: int) -> None:
        self.attempt = attempt
        self.campaign = campaign
        self.lead = lead

    @property
    def message_id(self) -> str:
        return str(self.attempt["message_id"])

    @property
    def recipient(self) -> str:
        return str(self.attempt["recipient_email"])


async def sent_to(app: ApiHarness, address: str, subject: str = "Guest post") -> Sent:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, address)
    r = await send(app.client, app.alice.headers, c, lead, subject=subject)
    assert r.status_code == 200, r.text
    return Sent(r.json(), c, lead)


def imap_config(app: ApiHarness, dovecot: DovecotServer, folder: str) -> Any:
    return dovecot.config(folder=folder, fetch_limit=app.settings.imap_fetch_limit)


async def poll(app: ApiHarness, dovecot: DovecotServer, folder: str) -> Any:
    return await poll_once(app.settings, app.db, config=imap_config(app, dovecot, folder))


def dsn(sent: Sent, status: str, diagnostic: str, *, ident: str, action: str = "failed") -> bytes:
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: outreach@sender.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <{ident}@mx.example.org>
Date: Wed, 25 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.org. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {sent.recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--B
Content-Type: text/rfc822-headers

From: outreach@sender.example
To: {sent.recipient}
Subject: Guest post
Message-ID: {sent.message_id}

--B--
""".replace("\n", "\r\n").encode()


def reply(
    sent: Sent, text: str, *, ident: str, headers: str = "", subject: str = "Re: Guest post"
) -> bytes:
    return f"""From: Editor <{sent.recipient}>
To: outreach@sender.example
Subject: {subject}
Message-ID: <{ident}@blog.example>
In-Reply-To: {sent.message_id}
References: {sent.message_id}
Date: Wed, 25 Nov 2026 11:00:00 +0000
{headers}MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{text}
""".replace("\n", "\r\n").encode()


async def suppressions(app: ApiHarness) -> list[Suppression]:
    async with app.db.transaction() as session:
        return list((await session.scalars(select(Suppression))).all())


async def lead_status(app: ApiHarness, lead_id: int) -> str:
    async with app.db.transaction() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        return lead.status


def feedback_report(
    sent: Sent, complainer: str | None = None, *, ident: str = "arf1", isp: str = "isp.example"
) -> bytes:
    """An ARF abuse report about `sent`, naming `complainer` (default: its recipient)."""
    return f"""From: feedback@{isp}
To: abuse@sender.example
Subject: FW: Guest post
Message-ID: <{ident}@{isp}>
Date: Wed, 25 Nov 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ISP-FBL/1.0
Version: 1
Original-Rcpt-To: {complainer or sent.recipient}

--F
Content-Type: text/rfc822-headers

From: outreach@sender.example
To: {sent.recipient}
Message-ID: {sent.message_id}

--F--
""".replace("\n", "\r\n").encode()


async def test_hard_bounce_suppresses_recipient_and_marks_lead_bounced(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "gone@bounce.example")
    dovecot_server.append(dsn(sent, "5.1.1", "550 5.1.1 User unknown", ident="hb1"), folder)
    report = await poll(app, dovecot_server, folder)
    assert report.bounces == 1 and report.suppressed == 1
    [row] = await suppressions(app)
    assert (row.value, row.source, row.user_id) == (
        "gone@bounce.example",
        "bounce",
        app.alice.user_id,
    )
    assert await lead_status(app, sent.lead) == "bounced"
    async with app.db.transaction() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.event == "suppression_added")
        )
    assert entry is not None and '"source": "bounce"' in entry.details
    assert "inbound_message_id" in entry.details


async def test_policy_block_5_7_x_is_sender_incident_not_suppression(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "fine@strict.example")
    dovecot_server.append(
        dsn(sent, "5.7.1", "550 5.7.1 Message rejected due to poor sender reputation", ident="sb1"),
        folder,
    )
    await poll(app, dovecot_server, folder)
    assert await suppressions(app) == []
    async with app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(SenderIncident)) == 1
    assert await lead_status(app, sent.lead) == "contacted"


async def test_soft_bounces_suppress_after_three_in_seven_days(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    # Three different messages, each soft-bounced: the same message's retries count once.
    sent = [await sent_to(app, "full@soft.example", subject=f"Guest post {i}") for i in range(3)]
    for i in range(2):
        dovecot_server.append(
            dsn(sent[i], "4.2.2", "452 4.2.2 Mailbox full", ident=f"soft{i}", action="delayed"),
            folder,
        )
    await poll(app, dovecot_server, folder)
    assert await suppressions(app) == []
    dovecot_server.append(
        dsn(sent[2], "4.2.2", "452 4.2.2 Mailbox full", ident="soft2", action="delayed"), folder
    )
    await poll(app, dovecot_server, folder)
    [row] = await suppressions(app)
    assert row.source == "bounce" and "soft bounces" in (row.reason or "")


async def test_delay_notice_and_expiry_of_the_same_message_count_as_one_soft_bounce(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    first = await sent_to(app, "slow@soft.example", subject="Guest post 1")
    second = await sent_to(app, "slow@soft.example", subject="Guest post 2")
    for ident, action in (("d1", "delayed"), ("x1", "failed")):
        timeout = "connect to mx.soft.example[192.0.2.9]:25: Connection timed out"
        dovecot_server.append(dsn(first, "4.4.1", timeout, ident=ident, action=action), folder)
    for ident, action in (("d2", "delayed"), ("x2", "failed")):
        timeout = "connect to mx.soft.example[192.0.2.9]:25: Connection timed out"
        dovecot_server.append(dsn(second, "4.4.1", timeout, ident=ident, action=action), folder)
    while (await poll(app, dovecot_server, folder)).fetched:
        pass
    # Four soft reports, two messages: two soft bounces, below the limit of three.
    assert await suppressions(app) == []
    async with app.db.transaction() as session:
        events = await session.scalar(select(func.count()).select_from(BounceEvent))
    assert events == 4  # every report is still recorded as evidence


async def test_complaint_suppresses_with_source_complaint(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "angry@complain.example")
    arf = feedback_report(sent)
    dovecot_server.append(arf, folder)
    report = await poll(app, dovecot_server, folder)
    assert report.complaints == 1
    [row] = await suppressions(app)
    assert row.source == "complaint" and row.value == "angry@complain.example"


@pytest.mark.parametrize(
    ("text", "expected", "suppressed"),
    [
        ("Nein danke, kein Interesse.", "not_interested", True),
        ("Merci, je suis intéressé ! Envoyez-moi votre proposition.", "interested", False),
        ("Por favor, darme de baja de esta lista.", "unsubscribe_request", True),
        ("Thanks, but we are not interested at the moment.", "not_interested", True),
        ("Which topics did you have in mind?", "replied", False),
    ],
)
async def test_reply_classification_effects(
    app: ApiHarness,
    dovecot_server: DovecotServer,
    folder: str,
    text: str,
    expected: str,
    suppressed: bool,
) -> None:
    sent = await sent_to(app, "editor@reply.example")
    dovecot_server.append(reply(sent, text, ident=f"r-{expected}"), folder)
    report = await poll(app, dovecot_server, folder)
    assert report.replies == 1
    replies = (
        await app.client.get(f"{API}/campaigns/{sent.campaign}/replies", headers=app.alice.headers)
    ).json()
    assert replies["items"][0]["classification"] == expected
    rows = await suppressions(app)
    assert bool(rows) is suppressed
    if suppressed:
        assert rows[0].source == "reply"
        assert await lead_status(app, sent.lead) == "unsubscribed"
    else:
        assert await lead_status(app, sent.lead) == "replied"


async def test_reply_quoting_our_footer_with_unsubscribe_does_not_suppress(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "quoter@reply.example")
    text = (
        "Sounds good, send me a draft.\n\n"
        "On Wed, 25 Nov 2026 at 10:00, Outreach <outreach@sender.example> wrote:\n"
        "> Hello, I enjoyed your article.\n"
        "> To unsubscribe from these emails, click here.\n"
    )
    dovecot_server.append(reply(sent, text, ident="quoted"), folder)
    await poll(app, dovecot_server, folder)
    assert await suppressions(app) == []
    assert await lead_status(app, sent.lead) == "replied"


async def test_out_of_office_never_suppresses(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "away@reply.example")
    dovecot_server.append(
        reply(
            sent,
            "I am out of the office until Monday and will not read email. Please unsubscribe me"
            " from nothing; I'll reply when back.",
            ident="ooo",
            headers="Auto-Submitted: auto-replied\n",
            subject="Automatic reply: Guest post",
        ),
        folder,
    )
    report = await poll(app, dovecot_server, folder)
    assert report.auto_replies == 1
    assert await suppressions(app) == []


async def test_duplicate_delivery_is_processed_once(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "twice@bounce.example")
    raw = dsn(sent, "5.1.1", "550 5.1.1 No such user", ident="dup")
    dovecot_server.append(raw, folder)
    dovecot_server.append(raw, folder)
    report = await poll(app, dovecot_server, folder)
    assert (report.processed, report.duplicates) == (1, 1)
    async with app.db.transaction() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.event == "suppression_added")
            )
            == 1
        )


async def test_more_messages_than_fetch_limit_are_taken_over_successive_polls(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "many@reply.example")
    for i in range(7):
        dovecot_server.append(reply(sent, f"Question number {i}?", ident=f"many{i}"), folder)
    reports = [await poll(app, dovecot_server, folder) for _ in range(4)]
    assert [r.fetched for r in reports] == [3, 3, 1, 0]
    assert [r.more_pending for r in reports] == [True, True, False, False]
    async with app.db.transaction() as session:
        texts = sorted((await session.scalars(select(Reply.text))).all())
    assert texts == sorted(f"Question number {i}?" for i in range(7))


async def test_malformed_message_is_recorded_and_does_not_block_others(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "after@bounce.example")
    dovecot_server.append(b"\x00\x01garbage without any header\r\n\r\n\xff\xfe", folder)
    dovecot_server.append(dsn(sent, "5.1.1", "550 5.1.1 unknown", ident="after-bad"), folder)
    report = await poll(app, dovecot_server, folder)
    assert report.fetched == 2
    assert report.parse_errors + report.processed == 2
    assert report.processed >= 1
    [row] = await suppressions(app)
    assert row.value == "after@bounce.example"
    async with app.db.transaction() as session:
        statuses = sorted((await session.scalars(select(InboundMessage.status))).all())
    assert len(statuses) == 2


async def test_uidvalidity_reset_does_not_reprocess(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "reset@bounce.example")
    dovecot_server.append(dsn(sent, "5.1.1", "550 5.1.1 unknown", ident="reset1"), folder)
    first = await poll(app, dovecot_server, folder)
    assert first.processed == 1
    dovecot_server.reset_uidvalidity(folder)
    dovecot_server.append(reply(sent, "Any update?", ident="reset2"), folder)
    second = await poll(app, dovecot_server, folder)
    assert second.uidvalidity_reset
    assert (second.duplicates, second.processed) == (1, 1)
    async with app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Suppression)) == 1


async def test_reclassify_away_from_suppressing_class_lifts_suppression(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    sent = await sent_to(app, "oops@reply.example")
    dovecot_server.append(reply(sent, "Not interested, thanks.", ident="recl"), folder)
    await poll(app, dovecot_server, folder)
    assert len(await suppressions(app)) == 1
    replies = (
        await app.client.get(f"{API}/campaigns/{sent.campaign}/replies", headers=app.alice.headers)
    ).json()
    reply_id = replies["items"][0]["id"]
    foreign = await app.client.patch(
        f"{API}/replies/{reply_id}", json={"classification": "interested"}, headers=app.bob.headers
    )
    assert foreign.status_code == 404
    r = await app.client.patch(
        f"{API}/replies/{reply_id}",
        json={"classification": "interested"},
        headers=app.alice.headers,
    )
    assert r.status_code == 200 and r.json()["classification"] == "interested"
    assert r.json()["auto_classification"] == "not_interested"
    assert await suppressions(app) == []
    assert await lead_status(app, sent.lead) == "replied"


async def test_poll_endpoint_requires_key_and_reports_counts(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    assert (await app.client.post(f"{API}/replies/poll")).status_code == 401
    r = await app.client.post(f"{API}/replies/poll", headers=app.alice.headers)
    assert r.status_code == 200
    assert r.json()["fetched"] == 0


async def test_background_poller_processes_new_mail(
    app: ApiHarness, dovecot_server: DovecotServer, folder: str
) -> None:
    import asyncio

    from sendwarden.services.background import start_background_poller

    sent = await sent_to(app, "loop@bounce.example")
    dovecot_server.append(dsn(sent, "5.1.1", "550 5.1.1 unknown", ident="loop1"), folder)
    settings = app.settings.model_copy(update={"sendwarden_poll_interval": 0.2})
    task = start_background_poller(settings, app.db)
    assert task is not None
    try:
        for _ in range(100):
            if await suppressions(app):
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
    [row] = await suppressions(app)
    assert row.value == "loop@bounce.example"
    assert start_background_poller(app.settings, app.db) is None  # interval 0 = off
