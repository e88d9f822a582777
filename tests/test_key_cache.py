"""The validate and send routes may authenticate from a cache of recent key checks, but a
revocation made anywhere (another process, the CLI) still takes effect on the
very next request, and nothing is done or audited for it."""

from __future__ import annotations

from sqlalchemy import func, select

from sendwarden.storage import users
from sendwarden.storage.models import ApiKey, Attempt, AuditEntry, HttpIdempotencyKey
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory, smtp_settings
from tests.support.smtp_server import FaultyServer

BODY = {"recipient_email": "editor@cached.example", "subject": "Guest post"}


async def _validates_audited(api: ApiHarness) -> int:
    async with api.db.read() as session:
        count = await session.scalar(
            select(func.count()).where(AuditEntry.event == "policy_validate")
        )
    return int(count or 0)


async def _revoke_elsewhere(api: ApiHarness, user_id: int) -> None:
    # Straight in the database, as `sendwarden keys revoke` in another process does:
    # the app's cache is not told.
    async with api.db.transaction() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.user_id == user_id))
        assert key_id is not None
        assert await users.revoke_key(session, key_id)


async def test_a_key_revoked_elsewhere_is_refused_on_the_next_validate(api: ApiHarness) -> None:
    first = await api.client.post(f"{API}/policy/validate", json=BODY, headers=api.alice.headers)
    assert first.status_code == 200, first.text
    audited = await _validates_audited(api)
    await _revoke_elsewhere(api, api.alice.user_id)

    for _ in range(2):  # refused from the cache's entry, then from the full check
        again = await api.client.post(
            f"{API}/policy/validate", json=BODY, headers=api.alice.headers
        )
        assert again.status_code == 401, again.text
        assert again.json()["detail"] == "Invalid or revoked API key"
    assert await _validates_audited(api) == audited
    other = await api.client.post(f"{API}/policy/validate", json=BODY, headers=api.bob.headers)
    assert other.status_code == 200, other.text


async def test_a_wrong_key_is_never_cached(api: ApiHarness) -> None:
    wrong = api.alice.key[:-4] + "AAAA"
    for _ in range(3):
        r = await api.client.post(
            f"{API}/policy/validate", json=BODY, headers={"Authorization": f"Bearer {wrong}"}
        )
        assert r.status_code == 401
    state = api.client._transport.app.state.sendwarden  # type: ignore[attr-defined]
    assert not state.keys._cache


async def test_a_bad_key_is_refused_before_the_body_is_read(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/policy/validate", content=b"{not json", headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401
    missing = await api.client.post(f"{API}/policy/validate", json={"x": 1})
    assert missing.status_code == 401
    assert "Missing API key" in missing.json()["detail"]


async def test_an_invalid_validate_body_names_the_field(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/policy/validate",
        json={"recipient_email": "not an address", "surprise": 1},
        headers=api.alice.headers,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"recipient_email", "surprise"}
    broken = await api.client.post(
        f"{API}/policy/validate", content=b"{not json", headers=api.alice.headers
    )
    assert broken.status_code == 422
    assert "Invalid JSON" in broken.json()["detail"]


async def test_a_key_revoked_elsewhere_sends_nothing_on_the_next_send(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    api = await api_factory(**smtp_settings(smtp))
    campaign = await make_campaign(api.client, api.alice.headers)
    first = await make_lead(api.client, api.alice.headers, campaign, "ed1@revoked1.example")
    second = await make_lead(api.client, api.alice.headers, campaign, "ed2@revoked2.example")
    sent = await send(api.client, api.alice.headers, campaign, first)
    assert sent.status_code == 200, sent.text
    await _revoke_elsewhere(api, api.alice.user_id)
    for idempotency in ({}, {"Idempotency-Key": "after-revocation"}):
        refused = await send(
            api.client, api.alice.headers, campaign, second, extra_headers=idempotency
        )
        assert refused.status_code == 401, refused.text
    assert len(smtp.messages) == 1
    async with api.db.read() as session:
        attempts = await session.scalar(select(func.count()).select_from(Attempt))
        keys = await session.scalar(select(func.count()).select_from(HttpIdempotencyKey))
    assert attempts == 1 and keys == 0  # nothing recorded for the refused sends


async def test_an_overlong_idempotency_key_is_refused_by_name(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/outreach/send",
        json={"campaign_id": 1, "lead_id": 1, "subject": "s", "body": "b"},
        headers={**api.alice.headers, "Idempotency-Key": "k" * 256},
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "header.Idempotency-Key", "message": "String should have at most 255 characters"}
    ]
