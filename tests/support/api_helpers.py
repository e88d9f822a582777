"""Small helpers for driving the HTTP API in tests."""

from __future__ import annotations

from typing import Any

import httpx

from sendwarden.api.app import API_PREFIX as API

__all__ = ["API", "make_campaign", "make_lead", "send"]


async def make_campaign(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "Q4"
) -> int:
    r = await client.post(f"{API}/campaigns", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def make_lead(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    campaign_id: int,
    email: str | None,
    site: str | None = None,
    **extra: Any,
) -> int:
    payload: dict[str, Any] = {
        "website_url": site or f"https://{(email or 'x@none.example').split('@')[1]}/{email}"
    }
    if email is not None:
        payload["contact_email"] = email
    payload.update(extra)
    r = await client.post(f"{API}/campaigns/{campaign_id}/leads", json=payload, headers=headers)
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


async def send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    campaign_id: int,
    lead_id: int,
    subject: str = "Guest post idea",
    **extra: Any,
) -> httpx.Response:
    payload = {
        "campaign_id": campaign_id,
        "lead_id": lead_id,
        "subject": subject,
        "body": "Hello,\nI enjoyed your article.\n",
    }
    extra_headers = extra.pop("extra_headers", {})
    payload.update(extra)
    return await client.post(
        f"{API}/outreach/send", json=payload, headers={**headers, **extra_headers}
    )
