"""Each rule of product.md §3 through storage and the send pipeline, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings
from sendwarden.storage import daily_caps
from sendwarden.storage.models import DailyCounter, DuplicateKey, SenderIncident, Suppression
from tests.support.api_helpers import make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory, create_tenant, smtp_settings
from tests.support.smtp_server import Faults, FaultyServer


async def test_daily_user_cap_blocks_across_domains_without_domain_slot(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp), sendwarden_user_daily_cap=2)
    c = await make_campaign(app.client, app.alice.headers)
    codes = []
    for i in range(3):
        lead = await make_lead(app.client, app.alice.headers, c, f"x@d{i}.example")
        codes.append((await send(app.client, app.alice.headers, c, lead)).status_code)
    assert codes == [200, 200, 403]
    async with app.db.transaction() as session:
        rows = {
            (r.scope, r.scope_key): r.count
            for r in (await session.scalars(select(DailyCounter))).all()
        }
    assert rows == {("user", ""): 2, ("domain", "d0.example"): 1, ("domain", "d1.example"): 1}
    # Caps are per user: Bob still sends.
    bc = await make_campaign(app.client, app.bob.headers)
    bl = await make_lead(app.client, app.bob.headers, bc, "x@d2.example")
    assert (await send(app.client, app.bob.headers, bc, bl)).status_code == 200


async def test_daily_domain_cap_shares_registrable_domain_counter(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp), sendwarden_domain_daily_cap=1)
    c = await make_campaign(app.client, app.alice.headers)
    first = await make_lead(app.client, app.alice.headers, c, "a@mail.example.co.uk")
    second = await make_lead(app.client, app.alice.headers, c, "b@example.co.uk")
    assert (await send(app.client, app.alice.headers, c, first)).status_code == 200
    blocked = await send(app.client, app.alice.headers, c, second)
    assert blocked.status_code == 403 and "example.co.uk" in blocked.json()["reason"]


async def test_strict_consent_blocks_consent_region_lead_without_consent(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp), sendwarden_require_consent=True)
    c = await make_campaign(app.client, app.alice.headers)
    no_consent = await make_lead(app.client, app.alice.headers, c, "a@verlag.de")
    with_consent = await make_lead(app.client, app.alice.headers, c, "b@verlag2.de", consent=True)
    us_lead = await make_lead(app.client, app.alice.headers, c, "c@blog.com")
    blocked = await send(app.client, app.alice.headers, c, no_consent)
    assert blocked.status_code == 403 and "consent" in blocked.json()["reason"]
    assert (await send(app.client, app.alice.headers, c, with_consent)).status_code == 200
    assert (await send(app.client, app.alice.headers, c, us_lead)).status_code == 200
    assert len(smtp.messages) == 2


async def test_idempotency_key_expires_after_24_hours(
    app_and_smtp: tuple[ApiHarness, FaultyServer],
) -> None:
    app, smtp = app_and_smtp
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "again@example.net")
    assert (await send(app.client, app.alice.headers, c, lead, subject="Hi")).status_code == 200
    assert (await send(app.client, app.alice.headers, c, lead, subject="Hi")).status_code == 403
    async with app.db.transaction() as session:
        await session.execute(
            update(DuplicateKey).values(used_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
        )
    assert (await send(app.client, app.alice.headers, c, lead, subject="Hi")).status_code == 200
    assert len(smtp.messages) == 2


async def test_idempotency_key_is_per_effective_sender(
    app_and_smtp: tuple[ApiHarness, FaultyServer],
) -> None:
    app, smtp = app_and_smtp
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "two@example.net")
    assert (
        await send(app.client, app.alice.headers, c, lead, sender_email="a@sender.example")
    ).status_code == 200
    assert (
        await send(app.client, app.alice.headers, c, lead, sender_email="b@sender.example")
    ).status_code == 200
    # A disallowed alias falls back to the default sender, which has not sent yet either.
    assert (
        await send(app.client, app.alice.headers, c, lead, sender_email="x@evil.example")
    ).status_code == 200
    assert (
        await send(app.client, app.alice.headers, c, lead, sender_email="y@evil.example")
    ).status_code == 403


async def test_send_time_policy_rejection_is_sender_incident_not_suppression(
    app_and_smtp: tuple[ApiHarness, FaultyServer],
) -> None:
    app, smtp = app_and_smtp
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "fine@strict.example")
    smtp.faults = Faults(
        rcpt_reply="550 5.7.1 Service unavailable; client host blocked using Spamhaus"
    )
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 500
    async with app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Suppression)) == 0
        assert await session.scalar(select(func.count()).select_from(SenderIncident)) == 1


async def test_counter_day_follows_configured_timezone(db_url: str) -> None:
    from sendwarden.storage.db import Database

    db = Database(db_url)
    tenant = await create_tenant(db, "tz")
    settings = PolicySettings(
        user_cap=100,
        domain_cap=20,
        timezone="America/New_York",
        allowed_sender_patterns=(),
        default_sender="out@sender.example",
        require_consent=False,
    )
    async with db.transaction() as session:
        await daily_caps.reserve_slots(
            session,
            user_id=tenant.user_id,
            domain="example.com",
            day="2026-11-24",
            user_cap=100,
            domain_cap=20,
        )
    # 03:00 UTC on the 25th is still the 24th in New York: the reserved slot counts.
    late_evening = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    next_morning = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    async with db.transaction() as session:
        same_day = await policy_check.check(
            session,
            user_id=tenant.user_id,
            recipient="a@example.com",
            requested_sender=None,
            subject=None,
            consent_recorded=None,
            settings=settings,
            now=late_evening,
        )
        new_day = await policy_check.check(
            session,
            user_id=tenant.user_id,
            recipient="a@example.com",
            requested_sender=None,
            subject=None,
            consent_recorded=None,
            settings=settings,
            now=next_morning,
        )
    await db.dispose()
    assert (same_day.user_count, same_day.domain_count) == (1, 1)
    assert (new_day.user_count, new_day.domain_count) == (0, 0)


@pytest.fixture
async def app_and_smtp(
    api_factory: AppFactory, smtp: FaultyServer
) -> tuple[ApiHarness, FaultyServer]:
    return await api_factory(**smtp_settings(smtp)), smtp


async def test_check_many_decides_each_request_as_check_alone_would(db_url: str) -> None:
    """A batch's shared queries must not leak one user's state into another's decision."""
    from sendwarden.policy import address_key, duplicate_key
    from sendwarden.services.errors import InvalidInput
    from sendwarden.storage import suppression
    from sendwarden.storage.db import Database
    from sendwarden.storage.models import DuplicateKeyState, SuppressionKind

    db = Database(db_url)
    try:
        alice = await create_tenant(db, "alice")
        bob = await create_tenant(db, "bob")
        settings = PolicySettings(
            user_cap=3,
            domain_cap=2,
            timezone="UTC",
            allowed_sender_patterns=("*@sender.example",),
            default_sender="out@sender.example",
            require_consent=True,
        )
        now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
        day = now.date().isoformat()
        async with db.transaction() as session:
            for entry in (
                suppression.NewSuppression(
                    SuppressionKind.EMAIL,
                    address_key("x@own.example"),
                    "asked",
                    "manual",
                    alice.user_id,
                ),
                suppression.NewSuppression(
                    SuppressionKind.DOMAIN, "global.example", None, "manual", None
                ),
            ):
                await suppression.add(session, entry)
            for _ in range(2):  # alice: domain full for full.example, 2 of 3 user slots
                await daily_caps.reserve_slots(
                    session,
                    user_id=alice.user_id,
                    domain="full.example",
                    day=day,
                    user_cap=3,
                    domain_cap=2,
                )
            session.add(
                DuplicateKey(
                    user_id=alice.user_id,
                    key_hash=duplicate_key("out@sender.example", "dup@dup.example", "Hi"),
                    state=DuplicateKeyState.USED.value,
                    created_at=now,
                    used_at=now - timedelta(hours=1),
                )
            )
        requests = [
            policy_check.CheckRequest(user, recipient, sender, "Hi", consent)
            for user in (alice.user_id, bob.user_id)
            for recipient, sender, consent in (
                ("x@own.example", None, None),
                ("y@mail.global.example", None, None),
                ("a@full.example", None, None),
                ("dup@dup.example", None, None),
                ("z@verlag.de", None, False),
                ("ok@fine.example", "team@sender.example", None),
                ("ok@fine.example", "bad sender", None),
            )
        ]
        async with db.read() as session:
            together = await policy_check.check_many(session, requests, settings=settings, now=now)
            alone = []
            for r in requests:
                try:
                    alone.append(
                        await policy_check.check(
                            session,
                            user_id=r.user_id,
                            recipient=r.recipient,
                            requested_sender=r.requested_sender,
                            subject=r.subject,
                            consent_recorded=r.consent_recorded,
                            settings=settings,
                            now=now,
                        )
                    )
                except InvalidInput as exc:
                    alone.append(exc)
    finally:
        await db.dispose()

    def summary(outcome: object) -> object:
        return str(outcome) if isinstance(outcome, InvalidInput) else outcome

    assert [summary(o) for o in together] == [summary(o) for o in alone]
    blocked_by = [getattr(o, "blocked_by", "error") for o in together]
    assert blocked_by == [
        "suppression",
        "suppression",
        "daily_domain_cap",
        "idempotency",
        "legal_basis",
        None,
        "error",
        None,
        "suppression",
        None,
        "idempotency",  # alice's key blocks bob too: the key names no user (§3.3)
        "legal_basis",
        None,
        "error",
    ]
