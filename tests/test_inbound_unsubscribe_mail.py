"""mailto unsubscribes (issue 11 item 1, product.md §6): every client's shape, real IMAP polls."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from sendwarden.storage.models import Lead, Reply
from tests.support.api_helpers import make_campaign, make_lead, send
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness
from tests.support.smtp_server import FaultyServer
from tests.test_inbound_polling import app, folder, poll, reply, sent_to, suppressions  # noqa: F401

SAMPLES = Path(__file__).parent / "data" / "inbound" / "unsubscribe"
MAILBOX = "bounces@example.com"


def sample(name: str, *, recipient: str, token: str, ident: str) -> bytes:
    text = (SAMPLES / f"{name}.eml.tmpl").read_text("utf-8")
    text = text.replace("{{RECIPIENT}}", recipient).replace("{{MAILBOX}}", MAILBOX)
    text = text.replace("{{TOKEN}}", token).replace("{{IDENT}}", ident)
    if not token:
        text = text.replace("unsubscribe \n", "unsubscribe\n")
    return text.replace("\n", "\r\n").encode()


def mailto_token(smtp: FaultyServer, count: int) -> str:
    """The token in the List-Unsubscribe mailto subject of the last delivered message."""
    delivered = smtp.wait_for(count)[-1]
    msg = email.message_from_bytes(delivered.raw, policy=policy.default)
    value = str(msg["List-Unsubscribe"])
    match = re.search(r"<mailto:[^?>]+\?subject=([^>]+)>", value)
    assert match, value
    subject = unquote(match.group(1))
    word, _, token = subject.partition(" ")
    assert word == "unsubscribe" and len(token) > 20, subject
    return token


async def lead_of(harness: ApiHarness, lead_id: int) -> Lead:
    async with harness.db.transaction() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        return lead


def test_mailto_target_carries_an_opaque_token_not_the_address() -> None:
    from sendwarden.transport.message import make_unsubscribe_links

    links = make_unsubscribe_links(
        public_url="https://sw.example", token="T0k3n_-x", mailbox=MAILBOX
    )
    assert links.mailto == f"mailto:{MAILBOX}?subject=unsubscribe%20T0k3n_-x"


@pytest.mark.parametrize("shape", ["gmail", "apple_mail", "outlook", "empty_body"])
async def test_mailto_unsubscribe_from_each_client_suppresses_recipient(
    app: ApiHarness,  # noqa: F811
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
    shape: str,
) -> None:
    sent = await sent_to(app, f"reader.{shape}@news.example")
    token = mailto_token(smtp, 1)
    dovecot_server.append(sample(shape, recipient=sent.recipient, token=token, ident=shape), folder)
    report = await poll(app, dovecot_server, folder)
    assert report.unsubscribes == 1 and report.suppressed == 1
    [row] = await suppressions(app)
    assert (row.user_id, row.value, row.source) == (
        app.alice.user_id,
        sent.recipient,
        "unsubscribe",
    )
    assert (await lead_of(app, sent.lead)).status == "unsubscribed"
    async with app.db.transaction() as session:
        [stored] = (await session.scalars(select(Reply))).all()
    assert stored.classification == "unsubscribe_request"


async def test_mailto_unsubscribe_from_forwarding_address_uses_token(
    app: ApiHarness,  # noqa: F811
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    """info@ forwards to a personal Gmail; the token proves which recipient it is."""
    await sent_to(app, "info@smallblog.example")
    token = mailto_token(smtp, 1)
    dovecot_server.append(
        sample("gmail", recipient="owner.private@gmail.example", token=token, ident="fw"), folder
    )
    await poll(app, dovecot_server, folder)
    values = sorted(row.value for row in await suppressions(app))
    assert values == ["info@smallblog.example", "owner.private@gmail.example"]


async def test_mailto_unsubscribe_without_token_suppresses_the_writer(
    app: ApiHarness,  # noqa: F811
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    """Messages sent before tokens existed: the writer is the recipient, so it applies."""
    sent = await sent_to(app, "old.reader@news.example")
    dovecot_server.append(
        sample("apple_mail_no_token", recipient=sent.recipient, token="", ident="nt"), folder
    )
    report = await poll(app, dovecot_server, folder)
    assert report.unsubscribes == 1
    [row] = await suppressions(app)
    assert row.value == "old.reader@news.example" and row.source == "unsubscribe"


async def test_mailto_unsubscribe_with_forged_token_does_not_suppress_recipient(
    app: ApiHarness,  # noqa: F811
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    sent = await sent_to(app, "victim@news.example")
    token = mailto_token(smtp, 1)
    forged = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    dovecot_server.append(
        sample("gmail", recipient="attacker@evil.example", token=forged, ident="forged"), folder
    )
    report = await poll(app, dovecot_server, folder)
    assert report.unsubscribes == 1
    assert [row.value for row in await suppressions(app)] == []
    assert (await lead_of(app, sent.lead)).status == "contacted"


@pytest.mark.parametrize(
    ("subject", "body", "suppressed"),
    [
        ("please remove me", "Thanks.", True),
        ("Re: Guest post - remove me from your list", "Thanks.", True),
        ("Re: Guest post", "Thanks, tell me more.", False),
        ("unsubscribe", "", True),
    ],
)
async def test_reply_subject_counts_as_text(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
    subject: str,
    body: str,
    suppressed: bool,
) -> None:
    sent = await sent_to(app, "subject.writer@reply.example")
    dovecot_server.append(reply(sent, body, ident="subj", subject=subject), folder)
    await poll(app, dovecot_server, folder)
    assert bool(await suppressions(app)) is suppressed


async def test_reply_repeating_our_own_subject_with_unsubscribe_word_does_not_suppress(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    ours = "How to unsubscribe-proof your newsletter"
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "careful@reply.example")
    r = await send(app.client, app.alice.headers, c, lead, subject=ours)
    assert r.status_code == 200

    class Sent:
        recipient = "careful@reply.example"
        message_id = r.json()["message_id"]

    dovecot_server.append(
        reply(Sent(), "Sounds interesting, tell me more.", ident="own", subject=f"Re: {ours}"),  # type: ignore[arg-type]
        folder,
    )
    await poll(app, dovecot_server, folder)
    assert await suppressions(app) == []
    assert (await lead_of(app, lead)).status == "replied"
