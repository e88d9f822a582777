"""Forged inbound mail must not harm others (issue 10 item 4, product.md §6), real Dovecot."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlalchemy import select

from sendwarden.storage.models import Suppression
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness
from tests.test_inbound_polling import (  # noqa: F401
    Sent,
    app,
    feedback_report,
    folder,
    poll,
    reply,
    sent_to,
    suppressions,
)


def refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("sendwarden_inbound_refused_total", {"reason": reason})
    return value or 0.0


def multi_dsn(sent: Sent, recipients: list[str], *, ident: str, status: str = "5.1.1") -> bytes:
    blocks = "".join(
        f"Final-Recipient: rfc822; {r}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\n\n"
        for r in recipients
    )
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.attacker.example>
To: outreach@sender.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <{ident}@mx.attacker.example>
Date: Wed, 25 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.attacker.example

{blocks}--B
Content-Type: text/rfc822-headers

From: outreach@sender.example
To: {sent.recipient}
Subject: Guest post
Message-ID: {sent.message_id}

--B--
""".replace("\n", "\r\n").encode()


async def lead_json(harness: ApiHarness, sent: Sent) -> dict[str, object]:
    r = await harness.client.get(
        f"{API}/campaigns/{sent.campaign}/leads", headers=harness.alice.headers
    )
    assert r.status_code == 200, r.text
    [lead] = [item for item in r.json()["items"] if item["id"] == sent.lead]
    return dict(lead)


async def test_dsn_naming_3000_never_sent_addresses_suppresses_only_the_real_recipient(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    sent = await sent_to(app, "real@bounce.example")
    before = refused("recipient_not_sent_to") + refused("too_many_recipients")
    names = [sent.recipient] + [f"victim{i}@elsewhere.example" for i in range(3000)]
    dovecot_server.append(multi_dsn(sent, names, ident="flood"), folder)
    report = await poll(app, dovecot_server, folder)
    assert [row.value for row in await suppressions(app)] == ["real@bounce.example"]
    assert report.refused == 3000
    after = refused("recipient_not_sent_to") + refused("too_many_recipients")
    assert after - before == 3000


async def test_dsn_cannot_suppress_in_another_users_list(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    alice_sent = await sent_to(app, "alice.lead@bounce.example")
    c = await make_campaign(app.client, app.bob.headers)
    lead = await make_lead(app.client, app.bob.headers, c, "bobs.lead@other.example")
    assert (await send(app.client, app.bob.headers, c, lead)).status_code == 200
    dovecot_server.append(multi_dsn(alice_sent, ["bobs.lead@other.example"], ident="cross"), folder)
    report = await poll(app, dovecot_server, folder)
    assert await suppressions(app) == []
    assert report.refused == 1


async def test_dsn_may_name_other_recipients_the_same_user_sent_to(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    first = await sent_to(app, "one@team.example")
    await sent_to(app, "two@team.example")
    dovecot_server.append(
        multi_dsn(first, ["one@team.example", "two@team.example"], ident="same"), folder
    )
    await poll(app, dovecot_server, folder)
    rows = await suppressions(app)
    assert sorted(r.value for r in rows) == ["one@team.example", "two@team.example"]
    assert {r.user_id for r in rows} == {app.alice.user_id}


async def test_arf_naming_an_arbitrary_complainer_never_suppresses_that_address(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    """Only the recipient of the reported message (an address we sent to) is suppressed."""
    sent = await sent_to(app, "reader@complain.example")
    before = refused("complainer_not_a_recipient")
    dovecot_server.append(
        feedback_report(
            sent, "ceo@bigcorp.example", ident="arf-forged", isp="isp.attacker.example"
        ),
        folder,
    )
    report = await poll(app, dovecot_server, folder)
    assert report.complaints == 1 and report.refused == 1
    assert [row.value for row in await suppressions(app)] == ["reader@complain.example"]
    assert refused("complainer_not_a_recipient") - before == 1


async def test_arf_about_bobs_message_naming_alices_recipient_touches_only_bob(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    alices = await sent_to(app, "alices.reader@complain.example")
    c = await make_campaign(app.client, app.bob.headers)
    lead = await make_lead(app.client, app.bob.headers, c, "bobs.reader@complain.example")
    r = await send(app.client, app.bob.headers, c, lead)
    assert r.status_code == 200
    bobs = Sent(r.json(), c, lead)
    dovecot_server.append(
        feedback_report(bobs, alices.recipient, ident="arf-cross", isp="isp.attacker.example"),
        folder,
    )
    await poll(app, dovecot_server, folder)
    rows = await suppressions(app)
    assert [(row.value, row.user_id) for row in rows] == [
        ("bobs.reader@complain.example", app.bob.user_id)
    ]


async def test_arf_with_redacted_complainer_suppresses_the_matched_recipient(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    sent = await sent_to(app, "hidden@complain.example")
    dovecot_server.append(
        feedback_report(sent, "redacted", ident="arf-redacted", isp="isp.attacker.example"), folder
    )
    await poll(app, dovecot_server, folder)
    assert [row.value for row in await suppressions(app)] == ["hidden@complain.example"]


async def test_removal_request_from_unrelated_writer_suppresses_only_the_writer(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    sent = await sent_to(app, "editor@blog.example")
    before = refused("writer_not_recipient")
    forged = reply(sent, "Please remove me from your list.", ident="stranger").replace(
        b"From: Editor <editor@blog.example>", b"From: Stranger <stranger@other.example>"
    )
    dovecot_server.append(forged, folder)
    report = await poll(app, dovecot_server, folder)
    assert report.refused == 1
    rows = await suppressions(app)
    assert [(r.value, r.user_id) for r in rows] == [("stranger@other.example", app.alice.user_id)]
    assert refused("writer_not_recipient") - before == 1
    lead = await lead_json(app, sent)
    assert lead["status"] == "contacted"
    assert "stranger@other.example" in str(lead["review_reason"])


async def test_removal_request_from_same_registrable_domain_suppresses_the_recipient(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    sent = await sent_to(app, "editor@blog.example")
    colleague = reply(sent, "Please remove us from your list.", ident="colleague").replace(
        b"From: Editor <editor@blog.example>", b"From: Boss <boss@mail.blog.example>"
    )
    dovecot_server.append(colleague, folder)
    await poll(app, dovecot_server, folder)
    async with app.db.transaction() as session:
        values = sorted((await session.scalars(select(Suppression.value))).all())
    assert values == ["boss@mail.blog.example", "editor@blog.example"]
    assert (await lead_json(app, sent))["status"] == "unsubscribed"


async def test_removal_request_from_another_freemail_address_does_not_suppress_recipient(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    """Sharing gmail.com says nothing: anyone can open a mailbox there."""
    sent = await sent_to(app, "editor@gmail.com")
    forged = reply(sent, "Please remove me from your list.", ident="freemail").replace(
        b"From: Editor <editor@gmail.com>", b"From: Prankster <prankster@gmail.com>"
    )
    dovecot_server.append(forged, folder)
    report = await poll(app, dovecot_server, folder)
    assert report.refused == 1
    assert [r.value for r in await suppressions(app)] == ["prankster@gmail.com"]
    assert (await lead_json(app, sent))["status"] == "contacted"
