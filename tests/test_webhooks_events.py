"""Every webhook event, emitted by the real paths (SMTP sends, IMAP polls, the API) and
delivered signed to a real HTTP receiver on 127.0.0.1 (issue 14)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from sendwarden.storage.models import WebhookEvent
from sendwarden.webhooks import endpoints, signing
from sendwarden.webhooks.catalogue import EVENT_TYPES, EVENTS
from sendwarden.webhooks.dispatcher import Dispatcher
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness, AppFactory
from tests.support.smtp_server import PASSWORD, USERNAME, Faults, FaultyServer
from tests.support.webhook_receiver import Received, WebhookReceiver
from tests.test_inbound_polling import Sent, dsn, feedback_report, poll, reply


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


_folders = itertools.count()


@pytest.fixture
def folder(dovecot_server: DovecotServer) -> str:
    name = f"Hooks{next(_folders)}"
    dovecot_server.create_folder(name)
    return name


@pytest.fixture
async def app(
    api_factory: AppFactory, smtp: FaultyServer, dovecot_server: DovecotServer, folder: str
) -> ApiHarness:
    return await api_factory(
        smtp_host="localhost",
        smtp_port=smtp.port,
        smtp_user=USERNAME,
        smtp_pass=PASSWORD,
        smtp_ca_file=smtp.ca_file,
        smtp_send_timeout=15.0,  # nothing here waits for it; room for a pausing machine
        imap_host="localhost",
        imap_user=dovecot_server.username,
        imap_pass=dovecot_server.password,
        imap_folder=folder,
        imap_ca_file=dovecot_server.ca_file,
        sendwarden_public_url="https://sw.example",
        sendwarden_webhooks_allow_private=True,
    )


async def add_endpoint(
    app: ApiHarness, url: str, user_id: int | None = None, events: list[str] | None = None
) -> tuple[int, str]:
    async with app.db.transaction() as session:
        endpoint, secret = await endpoints.create(
            session,
            user_id=user_id or app.alice.user_id,
            url=url,
            events=events,
            allow_private=True,
            box=await signing.secret_box(session, app.settings),
        )
        return endpoint.id, secret


async def dispatch_until(
    dispatcher: Dispatcher,
    receiver: WebhookReceiver,
    done: Callable[[list[Received]], bool],
    within: float = 30.0,
) -> list[Received]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        await dispatcher.run_once()
        got = receiver.delivered()
        if done(got):
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"not delivered in time; got {[r.type for r in receiver.delivered()]}")


async def drain(dispatcher: Dispatcher, receiver: WebhookReceiver) -> list[Received]:
    """Dispatch until the outbox has nothing due."""
    while await dispatcher.run_once():
        pass
    return receiver.delivered()


async def sent_to(app: ApiHarness, campaign: int, address: str) -> Sent:
    lead = await make_lead(app.client, app.alice.headers, campaign, address)
    r = await send(app.client, app.alice.headers, campaign, lead)
    assert r.status_code == 200, r.text
    return Sent(r.json(), campaign, lead)


def of_type(got: list[Received], type_: str) -> list[dict[str, Any]]:
    return [r.json["data"] for r in got if r.type == type_]


async def test_every_event_type_is_delivered_signed_from_the_real_paths(
    app: ApiHarness,
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    folder: str,
    receiver: WebhookReceiver,
) -> None:
    _, secret = await add_endpoint(app, receiver.url)
    h = app.alice.headers
    c = await make_campaign(app.client, h)
    # attempt.sent + lead.status_changed (discovered -> contacted)
    sent = await sent_to(app, c, "editor@sent.example")
    # suppression.added (manual) then attempt.blocked (rule suppression), suppression.removed
    r = await app.client.post(f"{API}/suppression", json={"email": "no@blocked.example"}, headers=h)
    assert r.status_code == 201, r.text
    blocked_lead = await make_lead(app.client, h, c, "no@blocked.example")
    assert (await send(app.client, h, c, blocked_lead)).status_code == 403
    r = await app.client.delete(f"{API}/suppression/no@blocked.example", headers=h)
    assert r.status_code in (200, 204), r.text
    # suppression.imported: one event for the whole import
    r = await app.client.post(
        f"{API}/suppression/import", content=b"email\nfirst@imported.example\n", headers=h
    )
    assert r.status_code == 200 and r.json()["added"] == 1, r.text
    # attempt.failed (+ bounce.hard from the RCPT rejection), then attempt.unknown
    smtp.faults = Faults(rcpt_reply="550 5.1.1 No such user")
    failed_lead = await make_lead(app.client, h, c, "gone@failed.example")
    assert (await send(app.client, h, c, failed_lead)).status_code == 500
    smtp.faults = Faults(drop_during_data=True)
    unknown_lead = await make_lead(app.client, h, c, "who@unknown.example")
    assert (await send(app.client, h, c, unknown_lead)).status_code == 500
    smtp.faults = Faults()
    # Inbound, through IMAP: bounce.soft, sender.incident, complaint, reply.received
    soft = await sent_to(app, c, "full@soft.example")
    incident = await sent_to(app, c, "strict@incident.example")
    angry = await sent_to(app, c, "angry@complaint.example")
    chatty = await sent_to(app, c, "chatty@reply.example")
    dovecot_server.append(
        dsn(soft, "4.2.2", "452 4.2.2 Mailbox full", ident="s1", action="delayed"), folder
    )
    dovecot_server.append(
        dsn(incident, "5.7.1", "550 5.7.1 Blocked due to poor reputation", ident="i1"), folder
    )
    dovecot_server.append(feedback_report(angry, ident="arf-hook"), folder)
    body = "Sounds good, I am interested! Send me the draft.\n\n-- \nJane\n> quoted: unsubscribe"
    dovecot_server.append(reply(chatty, body, ident="rr1"), folder)
    report = await poll(app, dovecot_server, folder)
    assert report.processed == 4, report
    # lead.status_changed by hand
    r = await app.client.patch(
        f"{API}/campaigns/{c}/leads/{sent.lead}/status", json={"status": "placed"}, headers=h
    )
    assert r.status_code == 200, r.text

    dispatcher = Dispatcher(app.db, settings=app.settings, allow_private=True)
    try:
        await dispatch_until(
            dispatcher, receiver, lambda got: {r.type for r in got} >= set(EVENT_TYPES)
        )
        got = await drain(dispatcher, receiver)
    finally:
        await dispatcher.close()

    for request in got:
        payload = request.verify(secret)  # raises unless the signature matches
        assert set(payload) == {"type", "timestamp", "data"}
        assert request.id.startswith("msg_")
        EVENTS[payload["type"]][0].model_validate(payload["data"])
    [sent_event] = [
        d for d in of_type(got, "attempt.sent") if d["attempt_id"] == sent.attempt["id"]
    ]
    assert sent_event["message_id"] == sent.message_id and sent_event["status"] == "sent"
    [blocked] = of_type(got, "attempt.blocked")
    assert blocked["rule"] == "suppression" and "suppress" in blocked["reason"].lower()
    assert {d["source"] for d in of_type(got, "suppression.added")} >= {"manual", "bounce"}
    assert of_type(got, "suppression.removed")[0]["value"] == "no@blocked.example"
    [imported] = of_type(got, "suppression.imported")
    assert (imported["added"], imported["scope"]) == (1, "user")
    assert of_type(got, "attempt.failed")[0]["recipient_email"] == "gone@failed.example"
    assert of_type(got, "attempt.unknown")[0]["recipient_email"] == "who@unknown.example"
    hard = of_type(got, "bounce.hard")
    assert hard[0]["source"] == "smtp" and hard[0]["status"] == "5.1.1"
    assert of_type(got, "bounce.soft")[0]["recipient"] == "full@soft.example"
    assert of_type(got, "sender.incident")[0]["recipient_domain"] == "incident.example"
    assert of_type(got, "complaint")[0]["recipient"] == "angry@complaint.example"
    [replied] = of_type(got, "reply.received")
    assert replied["class"] == "interested" and "quoted" not in replied["text"]
    assert "Send me the draft" in replied["text"]
    changes = [(d["lead_id"], d["status"]) for d in of_type(got, "lead.status_changed")]
    assert (sent.lead, "contacted") in changes and (sent.lead, "placed") in changes
    assert (angry.lead, "unsubscribed") in changes and (failed_lead, "bounced") in changes
    # Delivered once each: receivers dedupe by webhook-id, and none was sent twice here.
    assert len({r.id for r in got}) == len(got)


async def test_user_without_endpoint_gets_no_outbox_rows(
    app: ApiHarness, receiver: WebhookReceiver
) -> None:
    await add_endpoint(app, receiver.url, user_id=app.bob.user_id)
    c = await make_campaign(app.client, app.alice.headers)
    await sent_to(app, c, "editor@quiet.example")
    async with app.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(WebhookEvent))
    assert count == 0


async def test_events_go_only_to_their_users_endpoints(
    app: ApiHarness, receiver: WebhookReceiver
) -> None:
    other = WebhookReceiver()
    try:
        await add_endpoint(app, receiver.url)
        await add_endpoint(app, other.url, user_id=app.bob.user_id)
        c = await make_campaign(app.client, app.alice.headers)
        await sent_to(app, c, "editor@mine.example")
        dispatcher = Dispatcher(app.db, settings=app.settings, allow_private=True)
        await dispatch_until(
            dispatcher, receiver, lambda got: any(r.type == "attempt.sent" for r in got)
        )
        await dispatcher.run_once()
        await dispatcher.close()
        assert other.requests == []
    finally:
        other.stop()


async def test_subscription_filters_event_types(app: ApiHarness, receiver: WebhookReceiver) -> None:
    await add_endpoint(app, receiver.url, events=["lead.status_changed"])
    c = await make_campaign(app.client, app.alice.headers)
    await sent_to(app, c, "editor@filter.example")
    dispatcher = Dispatcher(app.db, settings=app.settings, allow_private=True)
    got = await dispatch_until(dispatcher, receiver, lambda got: len(got) >= 1)
    await dispatcher.run_once()
    await dispatcher.close()
    assert [r.type for r in receiver.delivered()] == ["lead.status_changed"]
    assert got[0].json["data"]["status"] == "contacted"
