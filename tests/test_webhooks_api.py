"""The /webhooks API: endpoints, one-time secrets, deliveries, retry, test ping, rotation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from sendwarden.webhooks.catalogue import EVENT_TYPES
from sendwarden.webhooks.dispatcher import Dispatcher
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness, AppFactory
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_secrets import Evidence, capture_logs
from tests.test_webhooks_events import drain


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
async def app(api_factory: AppFactory) -> ApiHarness:
    return await api_factory(sendwarden_webhooks_allow_private=True)


async def test_create_answers_201_with_the_secret_once(app: ApiHarness) -> None:
    h = app.alice.headers
    r = await app.client.post(
        f"{API}/webhooks", json={"url": "https://hooks.example/in"}, headers=h
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    assert created["events"] == list(EVENT_TYPES)
    listed = (await app.client.get(f"{API}/webhooks", headers=h)).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    one = await app.client.get(f"{API}/webhooks/{created['id']}", headers=h)
    for response in (listed, one.json()):
        assert created["secret"] not in str(response) and "secret" not in str(response)


async def test_update_events_url_and_enabled_then_delete(app: ApiHarness) -> None:
    h = app.alice.headers
    body = {"url": "https://hooks.example/a", "events": ["complaint", "bounce.hard"]}
    created = (await app.client.post(f"{API}/webhooks", json=body, headers=h)).json()
    assert created["events"] == ["bounce.hard", "complaint"]
    url = f"{API}/webhooks/{created['id']}"
    r = await app.client.patch(url, json={"enabled": False, "url": "https://b.example/"}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["enabled"], r.json()["url"]) == (False, "https://b.example/")
    assert r.json()["events"] == ["bounce.hard", "complaint"]  # untouched
    r = await app.client.patch(url, json={"events": None}, headers=h)
    assert r.json()["events"] == list(EVENT_TYPES)
    assert (await app.client.delete(url, headers=h)).status_code == 204
    assert (await app.client.get(url, headers=h)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://h.example/", "events": ["attempt.exploded"]}, "events"),
        ({"url": "https://h.example/", "events": []}, "events"),
        ({"url": "ftp://h.example/"}, "url"),
        ({"url": "https://user:pw@h.example/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://h.example/", "extra": 1}, "extra"),
    ],
)
async def test_bad_webhook_input_is_422_naming_the_field(
    app: ApiHarness, body: dict[str, object], field: str
) -> None:
    r = await app.client.post(f"{API}/webhooks", json=body, headers=app.alice.headers)
    assert r.status_code == 422, r.text
    assert field in r.text
    listed = (await app.client.get(f"{API}/webhooks", headers=app.alice.headers)).json()
    assert listed["total"] == 0


async def test_another_users_webhook_is_404(app: ApiHarness) -> None:
    created = (
        await app.client.post(
            f"{API}/webhooks", json={"url": "https://a.example/"}, headers=app.alice.headers
        )
    ).json()
    base = f"{API}/webhooks/{created['id']}"
    for method, path in [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("GET", f"{base}/deliveries"),
        ("POST", f"{base}/test"),
        ("POST", f"{base}/rotate-secret"),
    ]:
        r = await app.client.request(
            method, path, headers=app.bob.headers, json={} if method == "PATCH" else None
        )
        assert r.status_code == 404, (method, path, r.text)


async def test_test_ping_is_signed_and_listed_in_deliveries_then_retry(
    app: ApiHarness, receiver: WebhookReceiver
) -> None:
    h = app.alice.headers
    created = (
        await app.client.post(f"{API}/webhooks", json={"url": receiver.url}, headers=h)
    ).json()
    base = f"{API}/webhooks/{created['id']}"
    receiver.statuses = [500]
    r = await app.client.post(f"{base}/test", headers=h)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "pending" and queued["event_type"] == "webhook.test"
    dispatcher = Dispatcher(app.db, settings=app.settings, allow_private=True, retry_base=3600)
    await drain(dispatcher, receiver)
    page = (await app.client.get(f"{base}/deliveries", headers=h)).json()
    [failed] = page["items"]
    assert (failed["status"], failed["attempts"], failed["last_response_code"]) == (
        "pending",
        1,
        500,
    )
    assert failed["next_retry_at"] is not None
    r = await app.client.post(f"{base}/deliveries/{failed['id']}/retry", headers=h)
    assert r.status_code == 202, r.text
    await drain(dispatcher, receiver)
    await dispatcher.close()
    [ok] = receiver.delivered()
    assert ok.verify(created["secret"])["data"]["endpoint_id"] == created["id"]
    assert ok.id == queued["event_id"]
    page = (await app.client.get(f"{base}/deliveries?status=delivered", headers=h)).json()
    assert page["items"][0]["attempts"] == 2 and page["items"][0]["last_response_code"] == 200


async def test_rotate_secret_returns_the_new_secret_once(app: ApiHarness) -> None:
    h = app.alice.headers
    created = (
        await app.client.post(f"{API}/webhooks", json={"url": "https://r.example/"}, headers=h)
    ).json()
    r = await app.client.post(f"{API}/webhooks/{created['id']}/rotate-secret", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["secret"].startswith("whsec_") and r.json()["secret"] != created["secret"]


async def test_openapi_documents_every_event_payload(app: ApiHarness) -> None:
    schema = (await app.client.get("/openapi.json")).json()
    assert set(schema["webhooks"]) == {*EVENT_TYPES, "webhook.test"}
    ref = schema["webhooks"]["reply.received"]["post"]["requestBody"]["content"]
    name = ref["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    event = schema["components"]["schemas"][name]
    assert set(event["required"]) >= {"type", "timestamp", "data"}
    reply = schema["components"]["schemas"]["ReplyData"]
    assert {"class", "text", "lead_id"} <= set(reply["properties"])


async def test_webhook_secrets_appear_only_in_the_create_and_rotate_responses(
    api_factory: AppFactory, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await api_factory(sendwarden_webhooks_allow_private=True, sendwarden_log_level="DEBUG")
    evidence = Evidence()
    capture_logs(caplog, evidence)
    app.client.event_hooks["response"].append(evidence.record)
    h = app.alice.headers
    created = (
        await app.client.post(f"{API}/webhooks", json={"url": receiver.url}, headers=h)
    ).json()
    base = f"{API}/webhooks/{created['id']}"
    rotated = (await app.client.post(f"{base}/rotate-secret", headers=h)).json()
    receiver.statuses = [500]
    await app.client.post(f"{base}/test", headers=h)
    dispatcher = Dispatcher(app.db, settings=app.settings, allow_private=True, retry_base=0.01)
    await drain(dispatcher, receiver)
    await asyncio.sleep(0.05)
    await drain(dispatcher, receiver)
    await dispatcher.close()
    await app.client.get(f"{API}/webhooks", headers=h)
    await app.client.get(f"{base}/deliveries", headers=h)
    assert len(receiver.delivered()) == 1
    later = evidence.responses[2:]  # everything after the create and rotate responses
    logs = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    logs += evidence.json_log.getvalue()
    for secret in (created["secret"], rotated["secret"]):
        key_part = secret.removeprefix("whsec_")
        assert key_part not in logs and key_part not in "\n".join(later)
    assert created["secret"] in evidence.responses[0] and rotated["secret"] in evidence.responses[1]


async def test_metrics_show_outbox_depth_age_and_deliveries_by_result(
    app: ApiHarness, receiver: WebhookReceiver
) -> None:
    h = app.alice.headers
    created = (
        await app.client.post(f"{API}/webhooks", json={"url": receiver.url}, headers=h)
    ).json()
    receiver.stop()  # down: the ping stays pending
    await app.client.post(f"{API}/webhooks/{created['id']}/test", headers=h)
    dispatcher = Dispatcher(
        app.db, settings=app.settings, allow_private=True, retry_base=3600, timeout=1
    )
    await dispatcher.run_once()
    backlog = await dispatcher.refresh_metrics()
    await dispatcher.close()
    assert backlog.depth == 1 and backlog.oldest_age >= 0
    text = (await app.client.get("/metrics")).text
    assert "sendwarden_webhook_outbox_depth 1.0" in text
    assert "sendwarden_webhook_oldest_undelivered_seconds" in text
    assert 'sendwarden_webhook_deliveries_total{result="retry"}' in text
