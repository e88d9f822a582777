"""A suppression import tells subscribers what it did: ONE `suppression.imported` event
(counts, file digest, job id) per import that added something, written with its audit
entry, to the list's owner (the acting admin for the global list); not an event per
entry, which at a million rows would be a million deliveries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from sendwarden.services import suppression_import, suppression_jobs
from sendwarden.storage.models import WebhookEvent
from sendwarden.webhooks import endpoints, signing
from sendwarden.webhooks.catalogue import EVENTS
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


async def events_of(api: ApiHarness, user_id: int, type_: str) -> list[dict[str, Any]]:
    async with api.db.read() as session:
        bodies = (
            await session.scalars(
                select(WebhookEvent.body)
                .where(WebhookEvent.user_id == user_id, WebhookEvent.type == type_)
                .order_by(WebhookEvent.id)
            )
        ).all()
    return [json.loads(body)["data"] for body in bodies]


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_an_import_emits_one_suppression_imported_with_its_counts(api: ApiHarness) -> None:
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
    [event] = await events_of(api, api.alice.user_id, "suppression.imported")
    assert event == {
        "scope": "user",
        "added": 2,
        "duplicate": 2,
        "invalid": 1,
        "lines": 6,
        "sha256": hashlib.sha256(data).hexdigest(),
        "reason": None,
        "import_id": None,
    }
    EVENTS["suppression.imported"][0].model_validate(event)
    # The entries themselves are not one event each: only the manual add is.
    added = await events_of(api, api.alice.user_id, "suppression.added")
    assert [e["value"] for e in added] == ["old@x.example"]


async def test_a_large_import_in_many_chunks_is_still_one_event(api: ApiHarness) -> None:
    await subscribe(api, api.alice.user_id)
    rows = [f"u{i}@bulk{i % 7}.example" for i in range(2500)]
    data = ("email\n" + "\n".join(rows) + "\n").encode()
    target = suppression_import.ImportTarget(
        user_id=api.alice.user_id, actor_id=api.alice.user_id, default_reason="list"
    )
    result = await suppression_import.import_stream(api.db, chunked(data, 4093), target)
    assert result.added == 2500
    [event] = await events_of(api, api.alice.user_id, "suppression.imported")
    assert (event["added"], event["reason"]) == (2500, "list")


async def test_an_import_that_adds_nothing_emits_nothing(api: ApiHarness) -> None:
    await subscribe(api, api.alice.user_id)
    data = b"email\nsame@x.example\n"
    for _ in range(2):
        r = await api.client.post(
            f"{API}/suppression/import", content=data, headers=api.alice.headers
        )
        assert r.status_code == 200, r.text
    assert len(await events_of(api, api.alice.user_id, "suppression.imported")) == 1


async def test_an_import_by_a_user_without_an_endpoint_emits_nothing(api: ApiHarness) -> None:
    await subscribe(api, api.alice.user_id)  # someone else's endpoint changes nothing for bob
    r = await api.client.post(
        f"{API}/suppression/import", content=b"email\na@b.example\n", headers=api.bob.headers
    )
    assert r.json()["added"] == 1
    assert await events_of(api, api.bob.user_id, "suppression.imported") == []
    assert await events_of(api, api.alice.user_id, "suppression.imported") == []


async def test_a_global_import_tells_the_admin_who_made_it(api: ApiHarness) -> None:
    await subscribe(api, api.admin.user_id)
    r = await api.client.post(
        f"{API}/suppression/import?scope=global",
        content=b"email\nglobal@g.example\n",
        headers=api.admin.headers,
    )
    assert r.json()["added"] == 1
    [event] = await events_of(api, api.admin.user_id, "suppression.imported")
    assert (event["scope"], event["added"]) == ("global", 1)


async def test_a_background_import_names_its_job(api: ApiHarness) -> None:
    await subscribe(api, api.alice.user_id)
    r = await api.client.post(
        f"{API}/suppression/import",
        content=b"email\njob1@j.example\njob2@j.example\n",
        headers={**api.alice.headers, "Prefer": "respond-async"},
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    await suppression_jobs.wait_for_all()
    status = await api.client.get(f"{API}/suppression/imports/{job}", headers=api.alice.headers)
    assert status.json()["state"] == "done", status.text
    [event] = await events_of(api, api.alice.user_id, "suppression.imported")
    assert (event["import_id"], event["added"]) == (job, 2)
