"""Tenant isolation: Bob can neither see nor touch Alice's rows, on SQLite and PostgreSQL.

The id-taking routes are enumerated from the app: a new one that the matrix below does
not cover fails `test_isolation_matrix_covers_every_id_taking_route`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from sendwarden.services import suppression_jobs
from sendwarden.storage.models import Attempt, AttemptStatus, Reply
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.db_state import snapshot
from tests.support.harness import ApiHarness, AppFactory, Tenant, smtp_settings
from tests.support.route_inventory import RouteInfo, app_routes, protected_routes
from tests.support.smtp_server import FaultyServer


@dataclass(frozen=True)
class Probe:
    """How to call one id-taking route, and what its owner gets (the positive control)."""

    body: dict[str, Any] | None = None
    owner_status: int = 200


# Every id-taking route. Destructive ones run last in the owner's control pass.
MATRIX: dict[tuple[str, str], Probe] = {
    ("GET", f"{API}/campaigns/{{campaign_id}}"): Probe(),
    ("GET", f"{API}/campaigns/{{campaign_id}}/leads"): Probe(),
    ("GET", f"{API}/campaigns/{{campaign_id}}/attempts"): Probe(),
    ("GET", f"{API}/campaigns/{{campaign_id}}/replies"): Probe(),
    ("GET", f"{API}/attempts/{{attempt_id}}"): Probe(),
    ("GET", f"{API}/suppression/imports/{{import_id}}"): Probe(),
    ("POST", f"{API}/campaigns/{{campaign_id}}/leads"): Probe(
        {"website_url": "https://intruder.example/", "contact_email": "in@intruder.example"}, 201
    ),
    ("POST", f"{API}/campaigns/{{campaign_id}}/leads/bulk"): Probe(
        {"leads": [{"website_url": "https://bulk-intruder.example/"}]}
    ),
    ("PATCH", f"{API}/campaigns/{{campaign_id}}/leads/{{lead_id}}/status"): Probe(
        {"status": "placed"}
    ),
    ("POST", f"{API}/attempts/{{attempt_id}}/resolve"): Probe({"outcome": "failed"}),
    ("PATCH", f"{API}/replies/{{reply_id}}"): Probe({"classification": "not_interested"}),
    ("DELETE", f"{API}/suppression/{{email}}"): Probe(),
    ("GET", f"{API}/webhooks/{{webhook_id}}"): Probe(),
    ("GET", f"{API}/webhooks/{{webhook_id}}/deliveries"): Probe(),
    ("PATCH", f"{API}/webhooks/{{webhook_id}}"): Probe({"events": ["complaint"]}),
    ("POST", f"{API}/webhooks/{{webhook_id}}/test"): Probe(owner_status=202),
    ("POST", f"{API}/webhooks/{{webhook_id}}/rotate-secret"): Probe(),
    ("POST", f"{API}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/retry"): Probe(
        owner_status=202
    ),
    ("DELETE", f"{API}/webhooks/{{webhook_id}}"): Probe(owner_status=204),
    ("DELETE", f"{API}/campaigns/{{campaign_id}}"): Probe(owner_status=204),
}

# Query parameters a list route requires, with every value worth trying.
LIST_QUERIES: dict[str, list[dict[str, str]]] = {
    f"{API}/attempts": [{"status": s.value} for s in AttemptStatus],
}


@dataclass
class Owned:
    """One tenant's rows; `marker` appears in every one of its free-text fields."""

    tenant: Tenant
    marker: str
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def private_texts(self) -> list[str]:
        """Strings only this tenant's rows contain (its ids' echoes excluded)."""
        return [
            f"{self.marker}-campaign",
            f"{self.marker}-lead@",
            f"{self.marker}-other@",
            f"{self.marker}-subject",
            f"{self.marker}-reply",
        ]


@pytest.fixture
async def app(api_factory: AppFactory, smtp: FaultyServer) -> ApiHarness:
    return await api_factory(**smtp_settings(smtp))


async def seed(app: ApiHarness, tenant: Tenant, marker: str) -> Owned:
    client, headers = app.client, tenant.headers
    owned = Owned(tenant, marker)
    campaign = await make_campaign(client, headers, name=f"{marker}-campaign")
    lead = await make_lead(client, headers, campaign, f"{marker}-lead@{marker}.example")
    second = await make_lead(client, headers, campaign, f"{marker}-other@{marker}.example")
    sent = await send(client, headers, campaign, lead, subject=f"{marker}-subject")
    unknown = await send(client, headers, campaign, second, subject=f"{marker}-subject")
    assert sent.status_code == unknown.status_code == 200, unknown.text
    r = await client.post(
        f"{API}/suppression", json={"email": f"{marker}-supp@{marker}.example"}, headers=headers
    )
    assert r.status_code == 201, r.text
    job = await client.post(
        f"{API}/suppression/import",
        content=f"{marker}-imp@{marker}.example\n".encode(),
        headers={**headers, "Prefer": "respond-async"},
    )
    assert job.status_code == 202, job.text
    await suppression_jobs.wait_for_all()
    async with app.db.transaction() as session:
        # An attempt the owner may resolve, and a reply the owner may reclassify.
        await session.execute(
            update(Attempt)
            .where(Attempt.id == unknown.json()["id"])
            .values(status=AttemptStatus.UNKNOWN.value)
        )
        reply = Reply(
            user_id=tenant.user_id,
            attempt_id=sent.json()["id"],
            campaign_id=campaign,
            lead_id=lead,
            from_address=f"{marker}-lead@{marker}.example",
            subject=f"Re: {marker}-subject",
            text=f"{marker}-reply",
            classification="interested",
            auto_classification="interested",
        )
        session.add(reply)
        await session.flush()
        reply_id = reply.id
    hook = await client.post(
        f"{API}/webhooks", json={"url": f"https://{marker}.example/hooks"}, headers=headers
    )
    assert hook.status_code == 201, hook.text
    ping = await client.post(f"{API}/webhooks/{hook.json()['id']}/test", headers=headers)
    assert ping.status_code == 202, ping.text
    owned.ids = {
        "webhook_id": hook.json()["id"],
        "delivery_id": ping.json()["id"],
        "campaign_id": campaign,
        "lead_id": lead,
        "attempt_id": unknown.json()["id"],
        "reply_id": reply_id,
        "import_id": job.json()["id"],
        "email": f"{marker}-supp@{marker}.example",
    }
    return owned


def id_taking_routes(app: ApiHarness) -> list[RouteInfo]:
    transport = app.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return [r for r in protected_routes(transport.app) if r.params]  # type: ignore[arg-type]


def foreign_combinations(
    route: RouteInfo, victim: Owned, intruder: Owned
) -> Iterator[dict[str, Any]]:
    """Path values with at least one of the victim's ids (mixed with the intruder's own)."""
    for choice in itertools.product((victim, intruder), repeat=len(route.params)):
        if victim in choice:
            yield {name: owner.ids[name] for name, owner in zip(route.params, choice, strict=True)}


async def test_isolation_matrix_covers_every_id_taking_route(app: ApiHarness) -> None:
    routes = {r.key for r in id_taking_routes(app)}
    missing = routes - MATRIX.keys()
    assert not missing, f"id-taking routes without an isolation probe: {sorted(missing)}"
    assert not MATRIX.keys() - routes, f"stale probes: {sorted(MATRIX.keys() - routes)}"


async def test_foreign_ids_are_404_and_change_nothing(app: ApiHarness, smtp: FaultyServer) -> None:
    alice = await seed(app, app.alice, "alice")
    bob = await seed(app, app.bob, "bob")
    routes = {r.key: r for r in id_taking_routes(app)}
    assert routes.keys() == MATRIX.keys(), "see test_isolation_matrix_covers_every_id_taking_route"
    probes = 0
    for key, probe in MATRIX.items():
        route = routes[key]
        for values in foreign_combinations(route, alice, bob):
            before = await snapshot(app.db)
            r = await app.client.request(
                route.method, route.url(**values), json=probe.body, headers=bob.tenant.headers
            )
            assert r.status_code == 404, f"{route} {values}: {r.status_code} {r.text}"
            leaked = [t for t in alice.private_texts if t in r.text]
            assert not leaked, f"{route} leaks {leaked}: {r.text}"
            changed = before.differences(await snapshot(app.db))
            assert not changed, f"{route} {values} changed {changed}"
            probes += 1
    # Ids in the body: Bob sending Alice's lead (alone or with his own campaign).
    delivered = len(smtp.messages)
    for campaign, lead in [
        (alice.ids["campaign_id"], alice.ids["lead_id"]),
        (bob.ids["campaign_id"], alice.ids["lead_id"]),
        (alice.ids["campaign_id"], bob.ids["lead_id"]),
    ]:
        before = await snapshot(app.db)
        r = await send(app.client, bob.tenant.headers, campaign, lead, subject="hijack")
        assert r.status_code == 404, r.text
        assert not before.differences(await snapshot(app.db))
        probes += 1
    assert len(smtp.messages) == delivered
    # The control: the same ids work for their owner, so the 404s above mean "not yours".
    for key, probe in MATRIX.items():
        route = routes[key]
        r = await app.client.request(
            route.method, route.url(**alice.ids), json=probe.body, headers=alice.tenant.headers
        )
        assert r.status_code == probe.owner_status, f"owner control {route}: {r.text}"
    print(f"\nisolation: {probes} foreign-id probes over {len(MATRIX)} routes + send, all 404")


async def test_lists_never_include_foreign_rows(app: ApiHarness) -> None:
    alice = await seed(app, app.alice, "alice")
    bob = await seed(app, app.bob, "bob")
    transport = app.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    lists = [
        r
        for r in app_routes(transport.app)  # type: ignore[arg-type]
        if r.method == "GET" and not r.public and set(r.params) <= {"campaign_id"}
    ]
    checked = 0
    for route in lists:
        for params in LIST_QUERIES.get(route.path, [{}]):
            r = await app.client.get(
                route.url(campaign_id=bob.ids["campaign_id"]),
                params=params,
                headers=bob.tenant.headers,
            )
            assert r.status_code == 200, f"{route} {params}: {r.text}"
            assert alice.marker not in r.text, f"{route} {params} shows Alice's rows"
            checked += 1
    campaigns = (await app.client.get(f"{API}/campaigns", headers=bob.tenant.headers)).json()
    assert [c["name"] for c in campaigns["items"]] == ["bob-campaign"]
    audit = (await app.client.get(f"{API}/audit-logs", headers=bob.tenant.headers)).json()
    assert audit["total"] > 0 and {e["user_id"] for e in audit["items"]} == {bob.tenant.user_id}
    print(f"\nlists: {checked} list requests over {len(lists)} list routes, 0 foreign rows")


async def _allowed(app: ApiHarness, tenant: Tenant, recipient: str) -> bool:
    r = await app.client.post(
        f"{API}/policy/validate", json={"recipient_email": recipient}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["allowed"])


async def test_user_suppression_never_blocks_another_user_global_blocks_all(
    app: ApiHarness,
) -> None:
    entries = [
        {"email": "Person@Shared.Example"},
        {"domain": "blocked-for-alice.example"},
    ]
    for entry in entries:
        r = await app.client.post(f"{API}/suppression", json=entry, headers=app.alice.headers)
        assert r.status_code == 201, r.text
    for recipient in ("person@shared.example", "anyone@mail.blocked-for-alice.example"):
        assert not await _allowed(app, app.alice, recipient)
        assert await _allowed(app, app.bob, recipient)
    # Bob cannot lift Alice's entry, and a non-admin cannot touch global entries.
    r = await app.client.delete(f"{API}/suppression/person@shared.example", headers=app.bob.headers)
    assert r.status_code == 404
    r = await app.client.post(
        f"{API}/suppression",
        json={"email": "x@everyone.example", "scope": "global"},
        headers=app.bob.headers,
    )
    assert r.status_code == 403
    r = await app.client.post(
        f"{API}/suppression",
        json={"domain": "everyone.example", "scope": "global"},
        headers=app.admin.headers,
    )
    assert r.status_code == 201, r.text
    for tenant in (app.alice, app.bob, app.admin):
        assert not await _allowed(app, tenant, "someone@everyone.example")
    listed = (await app.client.get(f"{API}/suppression", headers=app.bob.headers)).json()
    assert [(i["value"], i["scope"]) for i in listed["items"]] == [("everyone.example", "global")]
    r = await app.client.delete(
        f"{API}/suppression/everyone.example", params={"scope": "global"}, headers=app.bob.headers
    )
    assert r.status_code == 403
    assert not await _allowed(app, app.bob, "someone@everyone.example")
