"""Data for dashboard tests: made through the API where the API can, else with the
same rows inbound processing writes (replies, bounces, sender incidents)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update

from sendwarden.storage.db import Database
from sendwarden.storage.models import (
    Attempt,
    AttemptStatus,
    BounceEvent,
    Reply,
    SenderIncident,
)
from tests.support.api_helpers import API, make_campaign, make_lead, send

# Each payload, if it ever ran, sets window.__xss or changes the page title.
XSS = [
    '<script>window.__xss=1;document.title="pwned"</script>',
    "<img src=x onerror=\"window.__xss=1;document.title='pwned'\">",
    '"><svg onload="window.__xss=1">',
    "javascript:window.__xss=1",
]


def timezone_away_from_midnight() -> str:
    """An IANA zone where "today" lasts at least another hour: day counts stay stable."""
    now = datetime.now(UTC)
    for name in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata"):
        if 1 <= now.astimezone(ZoneInfo(name)).hour <= 22:
            return name
    raise AssertionError("unreachable: these zones are hours apart")


def payload(i: int) -> str:
    return XSS[i % len(XSS)]


@dataclass
class Seeded:
    campaign_id: int
    lead_ids: list[int]
    sent_attempt: int
    blocked_attempt: int
    unknown_attempt: int
    reply_id: int
    lead_emails: list[str] = field(default_factory=list)


async def seed_dashboard(
    client: httpx.AsyncClient,
    db: Database,
    headers: dict[str, str],
    user_id: int,
    *,
    marker: str = "seed",
    hostile: bool = False,
) -> Seeded:
    """A campaign, leads, a sent, a blocked and an unknown attempt, a suppression, a
    reply, a bounce and a sender incident. With hostile=True every free-text field
    carries a script payload."""
    text = (lambda i, plain: f"{plain} {payload(i)}") if hostile else (lambda i, plain: plain)
    campaign = await make_campaign(client, headers, name=text(0, f"{marker} campaign"))
    emails = [f"{marker}-{n}@{marker}{n}.example" for n in range(3)]
    leads = []
    for n, email in enumerate(emails):
        site = f"https://{marker}{n}.example/{n}"
        leads.append(
            await make_lead(
                client,
                headers,
                campaign,
                email,
                site=site,
                contact_name=text(n + 1, f"Contact {n}"),
                notes=text(n + 2, "notes"),
            )
        )
    sent = await send(client, headers, campaign, leads[0], subject=text(1, f"{marker} pitch"))
    assert sent.status_code == 200, sent.text
    r = await client.post(
        f"{API}/suppression",
        json={"email": emails[1], "reason": text(2, "asked us to stop")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    blocked = await send(client, headers, campaign, leads[1], subject=text(3, f"{marker} pitch"))
    assert blocked.status_code == 403, blocked.text
    unknown = await send(client, headers, campaign, leads[2], subject=text(0, f"{marker} pitch"))
    assert unknown.status_code == 200, unknown.text
    async with db.transaction() as session:
        await session.execute(
            update(Attempt)
            .where(Attempt.id == unknown.json()["id"])
            .values(status=AttemptStatus.UNKNOWN.value)
        )
        reply = Reply(
            user_id=user_id,
            attempt_id=sent.json()["id"],
            campaign_id=campaign,
            lead_id=leads[0],
            from_address=emails[0],
            subject=text(1, "Re: pitch"),
            text=text(2, "Sounds good, send me a draft."),
            original_text=text(3, "Sounds good, send me a draft.")
            + "\n\n-- \nJane\n\n> On Monday you wrote:\n> Hello, I enjoyed your article.",
            classification="interested",
            auto_classification="interested",
        )
        session.add(reply)
        session.add(
            BounceEvent(
                user_id=user_id,
                attempt_id=sent.json()["id"],
                recipient=emails[0],
                classification="soft",
                status="4.2.2",
                diagnostic=text(3, "smtp; 452 4.2.2 mailbox full"),
                source="dsn",
            )
        )
        session.add(
            SenderIncident(
                user_id=user_id,
                attempt_id=sent.json()["id"],
                sender_email="outreach@sender.example",
                recipient_domain=f"{marker}0.example",
                status="5.7.1",
                diagnostic=text(0, "smtp; 550 5.7.1 sender blocked by policy"),
                source="dsn",
            )
        )
        await session.flush()
        reply_id = reply.id
    return Seeded(
        campaign,
        leads,
        sent.json()["id"],
        int(blocked.json()["attempt_id"]),
        unknown.json()["id"],
        reply_id,
        emails,
    )
