"""One event record, one handler (issue 11 item 6): every source of an automatic
suppression goes through inbound_effects.handle, and the bounce effect is a pure rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from sendwarden.policy.bounces import SOFT_BOUNCE_LIMIT, BounceEffect, decide_bounce
from sendwarden.storage.models import BounceEvent
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness
from tests.support.smtp_server import Faults, FaultyServer
from tests.test_inbound_complaint_formats import render
from tests.test_inbound_polling import (  # noqa: F401
    app,
    dsn,
    folder,
    poll,
    reply,
    sent_to,
    suppressions,
)
from tests.test_inbound_unsubscribe_mail import mailto_token, sample


@pytest.mark.parametrize(
    ("classification", "status", "soft", "effect"),
    [
        ("hard", "5.1.1", 0, BounceEffect.SUPPRESS),
        ("sender_block", "5.7.1", 0, BounceEffect.SENDER_INCIDENT),
        ("sender_block", "5.7.1", 99, BounceEffect.SENDER_INCIDENT),
        ("soft", "4.2.2", 1, BounceEffect.SOFT_COUNT),
        ("soft", "4.2.2", SOFT_BOUNCE_LIMIT - 1, BounceEffect.SOFT_COUNT),
        ("soft", "4.2.2", SOFT_BOUNCE_LIMIT, BounceEffect.SUPPRESS),
        ("not_a_failure", "2.0.0", 0, BounceEffect.NONE),
    ],
)
def test_bounce_effect_rule(classification: str, status: str, soft: int, effect: str) -> None:
    decision = decide_bounce(classification, status, soft)
    assert decision.effect == effect
    assert status in decision.explanation


@given(
    classification=st.sampled_from(["hard", "soft", "sender_block", "not_a_failure"]),
    soft=st.integers(min_value=0, max_value=50),
)
def test_only_hard_or_enough_soft_bounces_ever_suppress(classification: str, soft: int) -> None:
    suppress = decide_bounce(classification, None, soft).effect == BounceEffect.SUPPRESS
    assert suppress == (
        classification == "hard" or (classification == "soft" and soft >= SOFT_BOUNCE_LIMIT)
    )


async def test_every_source_goes_through_the_one_handler(
    app: ApiHarness,  # noqa: F811
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    """Each automatic suppression records the EventSource that `handle` was given."""
    bounced = await sent_to(app, "dsn@a.example")
    complained = await sent_to(app, "arf@b.example")
    replied = await sent_to(app, "reply@c.example")
    mailed = await sent_to(app, "mail@d.example")
    await sent_to(app, "click@e.example")
    token = mailto_token(smtp, 5)  # the same token is in the one-click URL of that message
    click = await app.client.post(f"/u/{token}")
    assert click.status_code == 200
    smtp.faults = Faults(rcpt_reply="550 5.1.1 No such user here")
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "rejected@f.example")
    assert (await send(app.client, app.alice.headers, c, lead)).status_code >= 400
    smtp.faults = Faults()
    dovecot_server.append(dsn(bounced, "5.1.1", "550 5.1.1 unknown", ident="ev-dsn"), folder)
    dovecot_server.append(
        render(
            "jmrp_arf",
            recipient=complained.recipient,
            message_id=complained.message_id,
            ident="ev-arf",
        ),
        folder,
    )
    dovecot_server.append(reply(replied, "Please remove me.", ident="ev-reply"), folder)
    dovecot_server.append(
        sample("outlook", recipient=mailed.recipient, token="", ident="ev-mail"), folder
    )
    while (await poll(app, dovecot_server, folder)).more_pending:
        pass
    r = await app.client.get(f"{API}/suppression", headers=app.alice.headers)
    via = {item["email"]: item["evidence"]["via"] for item in r.json()["items"]}
    assert via == {
        "dsn@a.example": "dsn",
        "arf@b.example": "complaint",
        "reply@c.example": "reply",
        "click@e.example": "unsubscribe_click",
        "mail@d.example": "unsubscribe_mail",
        "rejected@f.example": "smtp",
    }
    async with app.db.transaction() as session:
        sources = set((await session.scalars(select(BounceEvent.source))).all())
    assert sources == {"dsn", "smtp"}


async def test_delay_notice_and_expiry_of_the_same_message_count_as_one_soft_bounce(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    first = await sent_to(app, "slow@soft.example", subject="Guest post A")
    second = await sent_to(app, "slow@soft.example", subject="Guest post B")
    for sent, tag in ((first, "a"), (second, "b")):
        dovecot_server.append(
            dsn(sent, "4.4.1", "connect timed out", ident=f"delay-{tag}", action="delayed"),
            folder,
        )
        dovecot_server.append(
            dsn(sent, "4.4.7", "delivery time expired", ident=f"expired-{tag}"), folder
        )
    while (await poll(app, dovecot_server, folder)).more_pending:
        pass
    assert await suppressions(app) == []  # 4 reports, 2 messages: below the limit of 3
    r = await app.client.get(f"{API}/bounces", headers=app.alice.headers)
    assert r.json()["total"] == 4
    third = await sent_to(app, "slow@soft.example", subject="Guest post C")
    dovecot_server.append(
        dsn(third, "4.4.1", "connect timed out", ident="delay-c", action="delayed"), folder
    )
    await poll(app, dovecot_server, folder)
    [row] = await suppressions(app)
    assert row.value == "slow@soft.example" and row.source == "bounce"
