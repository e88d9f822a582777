"""The 24 h duplicate rule is per (effective sender, recipient, subject), not per user.

product.md §3.3: the recipient sees one sender, whoever asked to send. Five users
sending the same subject to the same recipient from the shared sender address get
one message delivered, sequentially and concurrently (four `serve` workers on
PostgreSQL). A blocked user learns nothing about the other users.
"""

from __future__ import annotations

import asyncio
import unicodedata
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.api.app import API_PREFIX
from sendwarden.policy import duplicate_key, normalize_subject
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import AppFactory, Tenant, create_tenant, smtp_settings
from tests.support.live_server import LiveServer, live_env, seed_leads, send_payload
from tests.support.smtp_server import FaultyServer

USERS = 5
RECIPIENT = "editor@shared.example"
SUBJECT = "Guest post idea"


async def test_five_users_same_subject_same_recipient_deliver_once(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp))
    tenants = [app.alice, app.bob] + [
        await create_tenant(app.db, f"tenant-secret-{n}") for n in range(USERS - 2)
    ]
    responses = []
    for number, tenant in enumerate(tenants):
        c = await make_campaign(app.client, tenant.headers, name=f"campaign-secret-{number}")
        lead = await make_lead(app.client, tenant.headers, c, RECIPIENT)
        responses.append(await send(app.client, tenant.headers, c, lead, subject=SUBJECT))

    assert [r.status_code for r in responses] == [200] + [403] * (USERS - 1)
    assert len(smtp.messages) == 1
    first = responses[0].json()
    for tenant, blocked in zip(tenants[1:], responses[1:], strict=True):
        body = blocked.json()
        assert body["detail"] == "Policy validation failed"
        assert "from outreach@sender.example" in body["reason"]
        assert {c["name"]: c["passed"] for c in body["checks"]}["idempotency"] is False
        assert_reveals_nothing_of(body, first, tenants[0])
        attempt = await app.client.get(
            f"{API}/attempts/{body['attempt_id']}", headers=tenant.headers
        )
        assert attempt.json()["status"] == "blocked"
        assert_reveals_nothing_of(attempt.json(), first, tenants[0])


def assert_reveals_nothing_of(
    blocked: dict[str, object], first: dict[str, object], owner: Tenant
) -> None:
    """No name, id, campaign or message of the user who sent first appears in the block."""
    text = str(blocked)
    assert "secret" not in text and "alice" not in text
    assert str(first["message_id"]) not in text
    assert blocked.get("attempt_id", blocked.get("id")) != first["id"]
    assert f"'user_id': {owner.user_id}" not in text
    assert f"attempt {first['id']}" not in text


async def test_duplicate_rule_ignores_invisible_and_full_width_subject_variants(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp))
    variants = [
        SUBJECT,
        "Guest\u200b post idea",  # zero-width space
        "Ｇｕｅｓｔ ｐｏｓｔ ｉｄｅａ",  # full-width letters
        "\ufeffGUEST  post\u2060 idea ",  # BOM, word joiner, case, spacing
    ]
    codes = []
    for tenant, subject in zip([app.alice, app.bob, app.alice, app.bob], variants, strict=True):
        c = await make_campaign(app.client, tenant.headers)
        lead = await make_lead(app.client, tenant.headers, c, RECIPIENT)
        codes.append((await send(app.client, tenant.headers, c, lead, subject=subject)).status_code)
    assert codes == [200, 403, 403, 403]
    assert len(smtp.messages) == 1


async def test_other_sender_address_is_a_different_send(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp))
    codes = []
    for tenant, sender in ((app.alice, None), (app.bob, "team@sender.example")):
        c = await make_campaign(app.client, tenant.headers)
        lead = await make_lead(app.client, tenant.headers, c, RECIPIENT)
        extra = {"sender_email": sender} if sender else {}
        codes.append((await send(app.client, tenant.headers, c, lead, **extra)).status_code)
    assert codes == [200, 200]
    assert len(smtp.messages) == 2


_FORMAT_CHARS = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])


@given(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.lists(st.tuples(st.integers(0, 30), _FORMAT_CHARS), max_size=5),
)
def test_subject_key_ignores_format_characters(
    subject: str, inserts: list[tuple[int, str]]
) -> None:
    spiked = subject
    for position, char in inserts:
        spiked = spiked[:position] + char + spiked[position:]
    assert normalize_subject(spiked) == normalize_subject(subject)
    assert duplicate_key("a@s.example", "b@r.example", spiked) == duplicate_key(
        "a@s.example", "b@r.example", subject
    )


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))
def test_subject_key_treats_full_width_as_ascii(subject: str) -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in subject)
    assert normalize_subject(full_width) == normalize_subject(subject)


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_normalized_subject_is_stable(subject: str) -> None:
    once = normalize_subject(subject)
    assert normalize_subject(once) == once
    assert not any(unicodedata.category(c) == "Cf" for c in once)


@pytest.mark.postgres
async def test_five_users_concurrently_deliver_once_across_workers(
    pg_url: str, tmp_path: Path
) -> None:
    seeded = [await seed_leads(pg_url, [RECIPIENT], user=f"user{n}") for n in range(USERS)]
    with FaultyServer(tmp_path / "smtp") as smtp:
        env = live_env(pg_url, smtp, DATABASE_POOL_SIZE=4)
        with LiveServer(env, workers=2, workdir=tmp_path / "server") as server:
            async with AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(base_url=server.base_url, timeout=30)
                    )
                    for _ in range(USERS * 3)
                ]
                # Three requests per user, each on its own connection, all at once.
                responses = await asyncio.gather(
                    *(
                        client.post(
                            f"{API_PREFIX}/outreach/send",
                            json=send_payload(seeded[n % USERS], RECIPIENT, SUBJECT),
                            headers=seeded[n % USERS].headers,
                        )
                        for n, client in enumerate(clients)
                    )
                )
        await asyncio.sleep(0.2)
        delivered = smtp.messages

    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, [r.text for r in responses]
    assert set(codes) <= {200, 403, 409}, [r.text for r in responses]
    assert len(delivered) == 1 and delivered[0].rcpt_tos == (RECIPIENT,)
