"""The demo's scenario: what it sends, what it expects, and the report it returns."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from sendwarden.api.app import API_PREFIX
from sendwarden.cli.demo.environment import DATABASE_FILE, DemoFailed
from sendwarden.cli.demo.inbound import InboundEvent, send_back

if TYPE_CHECKING:
    from sendwarden.cli.demo.environment import DemoEnvironment


@dataclass(frozen=True)
class DemoLead:
    email: str
    website: str
    name: str
    consent: bool = False


@dataclass(frozen=True)
class DemoStep:
    """One send of the scenario and what it is meant to show."""

    shows: str
    recipient: str
    subject: str
    blocked_by: str | None = None  # the policy check expected to refuse it


SUPPRESSED = "no-thanks@example-shop.com"
CAPPED_DOMAIN = "example-blog.com"

LEADS = (
    DemoLead("editor@beispiel-verlag.de", "https://beispiel-verlag.de/", "Anna Schmidt", True),
    DemoLead("desk@example-news.co.uk", "https://example-news.co.uk/", "Oliver Jones", True),
    DemoLead(f"editor@{CAPPED_DOMAIN}", f"https://{CAPPED_DOMAIN}/", "Emma Brown"),
    DemoLead(f"guestposts@{CAPPED_DOMAIN}", f"https://{CAPPED_DOMAIN}/write-for-us", "Liam"),
    DemoLead(f"tips@{CAPPED_DOMAIN}", f"https://{CAPPED_DOMAIN}/tips", "Tips desk"),
    DemoLead(SUPPRESSED, "https://example-shop.com/", "Shop owner"),
)

FIRST_SUBJECT = "Guest post idea for beispiel-verlag.de"
STEPS = (
    DemoStep("EU recipient: consent is the legal basis", LEADS[0].email, FIRST_SUBJECT),
    DemoStep("UK recipient: consent is the legal basis", LEADS[1].email, "Story idea for you"),
    DemoStep("US recipient: legitimate interest", LEADS[2].email, "Guest post idea"),
    DemoStep(f"2nd send to {CAPPED_DOMAIN} today (cap 2)", LEADS[3].email, "Write for us?"),
    DemoStep(
        f"3rd send to {CAPPED_DOMAIN}: domain cap",
        LEADS[4].email,
        "A tip for you",
        "daily_domain_cap",
    ),
    DemoStep("Recipient on the suppression list", SUPPRESSED, "Partnership idea", "suppression"),
    DemoStep("Same pitch to the same person again", LEADS[0].email, FIRST_SUBJECT, "idempotency"),
)
EXPECTED_DELIVERED = 4
BODY = (
    "Hello,\n\nI enjoyed your recent article and would like to propose a guest post.\n\n"
    "(Sent by `sendwarden demo` to a local capture server: nothing left this machine.)\n"
)


@dataclass(frozen=True)
class DemoSend:
    shows: str
    attempt_id: int | None
    recipient: str
    region: str
    legal_basis: str
    result: str  # "sent" or "blocked"
    rule: str | None  # the failing policy check, when blocked
    reason: str


@dataclass(frozen=True)
class DemoReport:
    directory: Path
    database_file: Path
    api_url: str
    api_key: str
    smtp_port: int
    validation: dict[str, Any]
    sends: tuple[DemoSend, ...]
    maildir: Path
    eml_dir: Path
    captured: int
    inbound: tuple[InboundEvent, ...] = ()
    suppressions: tuple[dict[str, Any], ...] = ()

    def __repr__(self) -> str:  # the API key stays out of logs and tracebacks
        return f"DemoReport(directory={self.directory!r}, api_url={self.api_url!r})"


async def run_scenario(env: DemoEnvironment) -> DemoReport:
    """Drive the API like an application: campaign, leads, suppression, sends; then
    a bounce, an "unsubscribe me" reply and a one-click unsubscribe come back."""
    assert env.capture is not None and env.eml is not None
    headers = {"Authorization": f"Bearer {env.api_key}"}
    async with httpx.AsyncClient(
        base_url=env.api_url + API_PREFIX, headers=headers, timeout=30, trust_env=False
    ) as client:
        api = Api(client)
        campaign = await api.post(
            "/campaigns",
            {"name": "Demo: guest posts", "description": "Created by `sendwarden demo`"},
            expect=201,
        )
        leads = await api.post(
            f"/campaigns/{campaign['id']}/leads/bulk",
            {
                "leads": [
                    {
                        "website_url": lead.website,
                        "contact_email": lead.email,
                        "contact_name": lead.name,
                        "consent": lead.consent,
                    }
                    for lead in LEADS
                ]
            },
        )
        if leads["failed"]:
            raise DemoFailed(f"adding the demo leads failed: {leads['failed']}")
        lead_ids = {lead["contact_email"]: lead["id"] for lead in leads["leads"]}
        await api.post(
            "/suppression",
            {"email": SUPPRESSED, "reason": "Asked not to be contacted"},
            expect=201,
        )
        validation = await api.post(
            "/policy/validate", {"recipient_email": LEADS[0].email, "subject": FIRST_SUBJECT}
        )
        sends = [await api.send(step, campaign["id"], lead_ids[step.recipient]) for step in STEPS]
        for step, sent in zip(STEPS, sends, strict=True):
            if sent.rule != step.blocked_by:
                raise DemoFailed(
                    f"{step.shows}: expected {step.blocked_by or 'delivery'}, got"
                    f" {sent.result} ({sent.reason})"
                )
        await asyncio.to_thread(env.capture.wait_for, EXPECTED_DELIVERED, 10.0)
        inbound_events = await send_back(env, env.capture.messages)
        suppressions = await api.get("/suppression?limit=100")
    return DemoReport(
        directory=env.directory,
        database_file=env.directory / DATABASE_FILE,
        api_url=env.api_url,
        api_key=env.api_key,
        smtp_port=env.capture.port,
        validation=validation,
        sends=tuple(sends),
        maildir=env.capture.directory / "Maildir",
        eml_dir=env.eml.directory,
        captured=len(env.capture.messages),
        inbound=inbound_events,
        suppressions=tuple(suppressions["items"]),
    )


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, payload: dict[str, Any], *, expect: int = 200) -> Any:
        response = await self.client.post(path, json=payload)
        if response.status_code != expect:
            raise DemoFailed(f"POST {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        if response.status_code != 200:
            raise DemoFailed(f"GET {path} answered {response.status_code}")
        return response.json()

    async def send(self, step: DemoStep, campaign_id: int, lead_id: int) -> DemoSend:
        payload = {"campaign_id": campaign_id, "lead_id": lead_id, "subject": step.subject}
        response = await self.client.post("/outreach/send", json={**payload, "body": BODY})
        body = response.json()
        if response.status_code == 200:
            return _demo_send(step, body, rule=None)
        if response.status_code == 403:
            attempt = await self.get(f"/attempts/{body['attempt_id']}")
            rule = next((c["name"] for c in body["checks"] if not c["passed"]), None)
            return _demo_send(step, attempt, rule=rule)
        raise DemoFailed(
            f"sending to {step.recipient} answered {response.status_code}: {body.get('detail')}"
        )


def _demo_send(step: DemoStep, attempt: dict[str, Any], *, rule: str | None) -> DemoSend:
    return DemoSend(
        shows=step.shows,
        attempt_id=attempt["id"],
        recipient=attempt["recipient_email"],
        region=attempt["region"],
        legal_basis=attempt["legal_basis"],
        result=attempt["status"],
        rule=rule,
        reason=attempt["reason"],
    )
