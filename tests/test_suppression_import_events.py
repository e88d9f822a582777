"""A suppression import tells subscribers what it added: one `suppression.added` event
(source "import") per new entry, as a single add does, in the import's own chunk
transactions; nothing for duplicates or invalid lines, nothing built for a user
without an endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from sendwarden.services import suppression_import
from sendwarden.storage.models import WebhookEvent
from sendwarden.webhooks import endpoints, signing
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness


async def subscribe(api: ApiHarness, user_id: int) -> None:
    async with api.db.transaction() as session:
        await endpoints.create(
            session,
            user_id=user_id,
            url="http://127.0.0.1:9/hooks",
            events=None,
            allow_private=True,
            box=await signing.secret_box(session, api.settings),
        )


async def added_events(api: ApiHarness, user_id: int) -> list[dict[str, Any]]:
    async with api.db.read() as session:
        bodies = (
            await session.scalars(
                select(WebhookEvent.body)
                .where(WebhookEvent.user_id == user_id, WebhookEvent.type == "suppression.added")
                .order_by(WebhookEvent.id)
            )
        ).all()
    return [json.loads(body)["data"] for body in bodies]


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_an_import_emits_suppression_added_for_each_new_entry_only(
    api: ApiHarness,
) -> None:
    await subscribe(api, api.alice.user_id)
    manual = await api.client.post(
        f"{API}/suppression", json={"email": "old@x.example"}, headers=api.alice.headers
    )
    assert manual.status_code == 201, manual.text
    data = (
        b"email,reason\n"
        b"new1@a.example,first\n"
        b"old@x.example,already there\n"
        b"@Domain.Example,whole domain\n"
        b"not an address@\n"
        b"New1@A.example,again in the file\n"
    )
    r = await api.client.post(f"{API}/suppression/import", content=data, headers=api.alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2
    events = await added_events(api, api.alice.user_id)
    assert [e["source"] for e in events] == ["manual", "import", "import"]
    assert events[1:] == [
        {
            "kind": "email",
            "value": "new1@a.example",
            "scope": "user",
            "source": "import",
            "reason": "first",
            "attempt_id": None,
        },
        {
            "kind": "domain",
            "value": "domain.example",
            "scope": "user",
            "source": "import",
            "reason": "whole domain",
            "attempt_id": None,
        },
    ]


async def test_a_large_import_emits_one_event_per_added_row_in_file_order(
    api: ApiHarness,
) -> None:
    await subscribe(api, api.alice.user_id)
    rows = [f"u{i}@bulk{i % 7}.example" for i in range(2500)]
    rows[1700] = "u3@bulk3.example"  # a repeat, in another chunk
    data = ("email\n" + "\n".join(rows) + "\n").encode()
    target = suppression_import.ImportTarget(user_id=api.alice.user_id, actor_id=api.alice.user_id)
    result = await suppression_import.import_stream(api.db, chunked(data, 4093), target)
    assert (result.added, result.duplicate) == (2499, 1)
    events = await added_events(api, api.alice.user_id)
    assert [e["value"] for e in events] == [row for i, row in enumerate(rows) if i != 1700]


async def test_an_import_by_a_user_without_an_endpoint_emits_nothing(api: ApiHarness) -> None:
    await subscribe(api, api.alice.user_id)  # someone else's endpoint changes nothing for bob
    r = await api.client.post(
        f"{API}/suppression/import", content=b"email\na@b.example\n", headers=api.bob.headers
    )
    assert r.json()["added"] == 1
    assert await added_events(api, api.bob.user_id) == []
    assert await added_events(api, api.alice.user_id) == []


async def test_a_global_import_tells_the_admin_who_made_it(api: ApiHarness) -> None:
    await subscribe(api, api.admin.user_id)
    r = await api.client.post(
        f"{API}/suppression/import?scope=global",
        content=b"email\nglobal@g.example\n",
        headers=api.admin.headers,
    )
    assert r.json()["added"] == 1
    [event] = await added_events(api, api.admin.user_id)
    assert (event["value"], event["scope"], event["source"]) == (
        "global@g.example",
        "global",
        "import",
    )
