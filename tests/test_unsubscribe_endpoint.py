"""RFC 8058 one-click unsubscribe (product.md §6): the signed link is the only authority."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlalchemy import select

from sendwarden.policy.unsubscribe_token import make_unsubscribe_token
from sendwarden.storage.models import Lead, Suppression
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory
from tests.support.smtp_server import PASSWORD, USERNAME, FaultyServer


@pytest.fixture
async def app(api_factory: AppFactory, smtp: FaultyServer) -> ApiHarness:
    return await api_factory(
        smtp_host="localhost",
        smtp_port=smtp.port,
        smtp_user=USERNAME,
        smtp_pass=PASSWORD,
        smtp_ca_file=smtp.ca_file,
        sendwarden_public_url="https://sw.example",
    )


async def sent_token(app: ApiHarness, smtp: FaultyServer) -> tuple[str, int, int]:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "Reader@news.example")
    r = await send(app.client, app.alice.headers, c, lead)
    assert r.status_code == 200
    msg = email.message_from_bytes(smtp.wait_for(1)[0].raw, policy=policy.default)
    match = re.search(r"<https://sw\.example/u/([^>]+)>", str(msg["List-Unsubscribe"]))
    assert match, msg["List-Unsubscribe"]
    assert "mailto:" in str(msg["List-Unsubscribe"])
    return match.group(1), lead, r.json()["id"]


async def suppressions(app: ApiHarness) -> list[Suppression]:
    async with app.db.transaction() as session:
        return list((await session.scalars(select(Suppression))).all())


async def test_one_click_post_suppresses_recipient_for_that_user(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    token, lead_id, _ = await sent_token(app, smtp)
    r = await app.client.post(
        f"/u/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "no further emails" in r.text
    [row] = await suppressions(app)
    assert (row.user_id, row.value, row.source) == (
        app.alice.user_id,
        "reader@news.example",
        "unsubscribe",
    )
    async with app.db.transaction() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.status == "unsubscribed"
    again = await app.client.post(f"/u/{token}")
    assert again.status_code == 200 and len(await suppressions(app)) == 1
    audit = (
        await app.client.get(
            f"{API}/audit-logs", params={"event": "suppression_added"}, headers=app.alice.headers
        )
    ).json()
    assert audit["items"][0]["details"]["source"] == "unsubscribe"


async def test_one_click_get_shows_confirmation_without_suppressing(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    token, _, _ = await sent_token(app, smtp)
    r = await app.client.get(f"/u/{token}")
    assert (
        r.status_code == 200
        and '<form method="post"' in r.text
        and "reader@news.example" in r.text.lower()
    )
    assert await suppressions(app) == []


async def test_one_click_altered_or_forged_tokens_are_rejected(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    token, _, attempt_id = await sent_token(app, smtp)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    forged = make_unsubscribe_token(
        b"another-secret",
        user_id=app.alice.user_id,
        recipient="reader@news.example",
        attempt_id=attempt_id,
        issued_at=1_800_000_000,
    )
    for bad in (flipped, forged, "x" * 40, token + "a"):
        r = await app.client.post(f"/u/{bad}")
        assert r.status_code in (400, 404, 422), (bad, r.status_code)
        assert "invalid" in r.text.lower() or r.status_code == 404
    assert await suppressions(app) == []


async def test_one_click_expired_token_is_rejected(app: ApiHarness, smtp: FaultyServer) -> None:
    _, _, attempt_id = await sent_token(app, smtp)
    old = make_unsubscribe_token(
        b"test-secret-key",
        user_id=app.alice.user_id,
        recipient="reader@news.example",
        attempt_id=attempt_id,
        issued_at=1_000_000_000,
    )
    r = await app.client.post(f"/u/{old}")
    assert r.status_code == 422 and "expired" in r.json()["detail"]
    assert await suppressions(app) == []


async def test_one_click_token_for_foreign_attempt_is_404(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    _, _, attempt_id = await sent_token(app, smtp)
    import time

    mismatched = make_unsubscribe_token(
        b"test-secret-key",
        user_id=app.bob.user_id,
        recipient="reader@news.example",
        attempt_id=attempt_id,
        issued_at=int(time.time()),
    )
    assert (await app.client.post(f"/u/{mismatched}")).status_code == 404
    assert await suppressions(app) == []


async def test_delivered_token_reveals_no_recipient_user_or_attempt(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    import base64

    token, _, attempt_id = await sent_token(app, smtp)
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for clear in (b"reader", b"news.example", f":{attempt_id}:".encode()):
        assert clear not in decoded
    assert "reader" not in token.lower()


async def test_one_click_legacy_token_from_an_old_message_still_works(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    import time

    from sendwarden.policy.unsubscribe_token import make_legacy_unsubscribe_token

    _, lead_id, attempt_id = await sent_token(app, smtp)
    legacy = make_legacy_unsubscribe_token(
        b"test-secret-key",
        user_id=app.alice.user_id,
        recipient="reader@news.example",
        attempt_id=attempt_id,
        issued_at=int(time.time()) - 86400,
    )
    r = await app.client.post(f"/u/{legacy}")
    assert r.status_code == 200
    [row] = await suppressions(app)
    assert (row.user_id, row.value) == (app.alice.user_id, "reader@news.example")
    altered = legacy[:-2] + ("AA" if legacy[-2:] != "AA" else "BB")
    assert (await app.client.post(f"/u/{altered}")).status_code in (400, 404, 422)
