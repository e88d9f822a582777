"""A lead's state set by hand is one service call (services.leads.set_status) from every
edge: the API and the dashboard write the same `lead.status_changed` event."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import select

from sendwarden.storage.models import Lead, WebhookEvent
from tests.support.api_helpers import API, make_campaign, make_lead
from tests.support.harness import ApiHarness, AppFactory

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
async def app(api_factory: AppFactory) -> ApiHarness:
    app = await api_factory(
        sendwarden_webhooks_allow_private=True, sendwarden_webhooks_dispatch=False
    )
    r = await app.client.post(
        f"{API}/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=app.alice.headers
    )
    assert r.status_code == 201, r.text
    return app


async def _status_events(app: ApiHarness, lead: int) -> list[dict[str, object]]:
    async with app.db.read() as session:
        rows = await session.scalars(
            select(WebhookEvent.body).where(
                WebhookEvent.type == "lead.status_changed", WebhookEvent.lead_id == lead
            )
        )
        return [json.loads(body)["data"] for body in rows.all()]


async def _dashboard_sets(app: ApiHarness, campaign: int, lead: int, status: str) -> None:
    transport = app.client._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/ui/sign-in")
        token = CSRF.search(page.text)
        assert token is not None
        await client.post("/ui/sign-in", data={"api_key": app.alice.key, "csrf_token": token[1]})
        form = CSRF.search((await client.get(f"/ui/campaigns/{campaign}")).text)
        assert form is not None
        r = await client.post(
            f"/ui/campaigns/{campaign}/leads/{lead}/status",
            data={"status": status, "csrf_token": form[1]},
        )
        assert r.status_code == 303, r.text


async def test_dashboard_and_api_lead_status_changes_write_the_same_webhook_event(
    app: ApiHarness,
) -> None:
    campaign = await make_campaign(app.client, app.alice.headers)
    by_api = await make_lead(app.client, app.alice.headers, campaign, "a@site-a.example")
    by_ui = await make_lead(app.client, app.alice.headers, campaign, "b@site-b.example")
    r = await app.client.patch(
        f"{API}/campaigns/{campaign}/leads/{by_api}/status",
        json={"status": "placed"},
        headers=app.alice.headers,
    )
    assert r.status_code == 200, r.text
    await _dashboard_sets(app, campaign, by_ui, "placed")

    [from_api] = await _status_events(app, by_api)
    [from_ui] = await _status_events(app, by_ui)
    assert from_api["status"] == from_ui["status"] == "placed"
    assert from_api.keys() == from_ui.keys()
    async with app.db.read() as session:
        assert (await session.get(Lead, by_ui)).status == "placed"  # type: ignore[union-attr]
