"""The way back: a hard bounce, an "unsubscribe me" reply and a one-click unsubscribe.

The bounce and the reply are built as a real MTA and a real mail client would send
them, addressed to the demo's sender and pointing at the Message-ID of a message
the capture server received; they then go through the same parsing and processing
a mailbox poll applies (`services.polling.apply_fetched`). The one-click
unsubscribe is the RFC 8058 POST a mail client makes to the message's
List-Unsubscribe URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

import httpx

from sendwarden.cli.demo.environment import DemoFailed
from sendwarden.devsmtp import CapturedMessage
from sendwarden.inbound.imap import FetchedMessage
from sendwarden.services.polling import apply_fetched
from sendwarden.storage.db import Database
from sendwarden.storage.types import utcnow

if TYPE_CHECKING:
    from sendwarden.cli.demo.environment import DemoEnvironment

BOUNCED = "guestposts@example-blog.com"
REPLIED = "desk@example-news.co.uk"
ONE_CLICK = "editor@beispiel-verlag.de"
SENDER_MTA = "smtp.demo.sendwarden.example"
DEMO_MAILBOX = "demo-capture"


@dataclass(frozen=True)
class InboundEvent:
    what: str
    recipient: str
    path: str
    outcome: str


def _captured_to(messages: list[CapturedMessage], recipient: str) -> CapturedMessage:
    for message in messages:
        if recipient in message.rcpt_tos:
            return message
    raise DemoFailed(f"no message to {recipient} was captured")


def _headers(message: CapturedMessage) -> dict[str, str]:
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(message.raw)
    return {name.lower(): str(value) for name, value in parsed.items()}


def build_bounce(original: CapturedMessage, recipient: str) -> bytes:
    """A Postfix-style RFC 3464 DSN: the recipient's MX refused RCPT TO with 5.1.1."""
    headers = original.raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    sender = original.envelope_from
    remote = "mx." + recipient.rsplit("@", 1)[1]
    boundary = "DSN.demo.4Q7xYb2Kc"
    now = utcnow()
    diagnostic = f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
    text = f"""\
From: MAILER-DAEMON@{SENDER_MTA} (Mail Delivery System)
To: {sender}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(now)}
Message-ID: {make_msgid(domain=SENDER_MTA)}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {SENDER_MTA}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{recipient}>: host {remote}[192.0.2.25] said: {diagnostic} (in reply to
    RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {SENDER_MTA}
X-Postfix-Sender: rfc822; {sender}
Arrival-Date: {format_datetime(now)}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; {remote}
Diagnostic-Code: smtp; {diagnostic}

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{headers}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def build_unsubscribe_reply(original: CapturedMessage, recipient: str, name: str) -> bytes:
    """What the recipient's mail client sends back: "please unsubscribe me", quoting."""
    headers = _headers(original)
    reply = EmailMessage()
    reply["From"] = f"{name} <{recipient}>"
    reply["To"] = headers["from"]
    reply["Subject"] = f"Re: {headers['subject']}"
    reply["Date"] = format_datetime(utcnow())
    reply["Message-ID"] = make_msgid(domain="mail." + recipient.rsplit("@", 1)[1])
    reply["In-Reply-To"] = headers["message-id"]
    reply["References"] = headers["message-id"]
    reply.set_content(
        f"Please unsubscribe me, I don't want to receive these emails.\n\n{name}\n\n"
        f"On {headers['date']}, {headers['from']} wrote:\n> Hello,\n>\n"
        "> I enjoyed your recent article and would like to propose a guest post.\n"
    )
    return reply.as_bytes(policy=default_policy.clone(linesep="\r\n"))


def one_click_url(original: CapturedMessage) -> str:
    header = _headers(original).get("list-unsubscribe", "")
    found = re.search(r"<(https?://[^>]+)>", header)
    if found is None:
        raise DemoFailed("the sent message has no one-click List-Unsubscribe link")
    return found.group(1)


async def send_back(
    env: DemoEnvironment, messages: list[CapturedMessage]
) -> tuple[InboundEvent, ...]:
    assert env.settings is not None
    bounced = _captured_to(messages, BOUNCED)
    replied = _captured_to(messages, REPLIED)
    clicked = _captured_to(messages, ONE_CLICK)
    fetched = (
        FetchedMessage(uid=1, raw=build_bounce(bounced, BOUNCED)),
        FetchedMessage(uid=2, raw=build_unsubscribe_reply(replied, REPLIED, "Oliver Jones")),
    )
    db = Database(env.settings.database_url)
    try:
        report = await apply_fetched(db, DEMO_MAILBOX, fetched)
    finally:
        await db.dispose()
    if report.bounces != 1 or report.replies != 1 or report.suppressed != 2:
        raise DemoFailed(f"the bounce and the reply were not applied as expected: {report}")
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        response = await client.post(
            one_click_url(clicked),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    if response.status_code != 200:
        raise DemoFailed(f"the one-click unsubscribe answered {response.status_code}")
    return (
        InboundEvent("Hard bounce (DSN 5.1.1)", BOUNCED, "inbound parser", "suppressed"),
        InboundEvent('Reply "please unsubscribe me"', REPLIED, "inbound parser", "suppressed"),
        InboundEvent("One-click unsubscribe", ONE_CLICK, "POST /u/{token}", "suppressed"),
    )
