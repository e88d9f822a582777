"""`sendwarden webhooks create|list|update|delete|deliveries|retry|test|rotate`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sendwarden.webhooks.catalogue import EVENT_TYPES
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_cli import assert_user_error, cli, new_key

PRIVATE = {"SENDWARDEN_WEBHOOKS_ALLOW_PRIVATE": "true"}


@pytest.fixture
def url(sqlite_url: str) -> str:
    new_key(cli(sqlite_url, "users", "create", "alice"))
    return sqlite_url


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


def test_cli_webhook_lifecycle(url: str, receiver: WebhookReceiver) -> None:
    created = cli(url, "webhooks", "create", receiver.url, "--event", "complaint", env=PRIVATE)
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = cli(url, "webhooks", "list", "--json")
    [hook] = json.loads(listed.stdout)
    assert hook["events"] == ["complaint"] and secret not in listed.stdout
    hook_id = str(hook["id"])
    updated = cli(url, "webhooks", "update", hook_id, "--all-events", "--disable", "--json")
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["enabled"] is False
    assert json.loads(updated.stdout)["events"] == list(EVENT_TYPES)
    cli(url, "webhooks", "update", hook_id, "--enable")

    receiver.statuses = [500]
    pinged = cli(url, "webhooks", "test", hook_id, "--json", env=PRIVATE)
    assert pinged.exit_code == 0, pinged.output
    first = json.loads(pinged.stdout)
    assert (first["status"], first["last_response_code"]) == ("pending", 500)
    retried = cli(url, "webhooks", "retry", hook_id, str(first["id"]), env=PRIVATE)
    assert retried.exit_code == 0 and "delivered, HTTP 200" in retried.stdout, retried.output
    [ok] = receiver.delivered()
    ok.verify(secret)
    page = json.loads(cli(url, "webhooks", "deliveries", hook_id, "--json").stdout)
    assert page["items"][0]["attempts"] == 2 and page["items"][0]["status"] == "delivered"

    rotated = cli(url, "webhooks", "rotate", hook_id)
    new_secret = rotated.stdout.strip().splitlines()[-1]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert cli(url, "webhooks", "test", hook_id, env=PRIVATE).exit_code == 0
    latest = receiver.delivered()[-1]
    latest.verify(secret)
    latest.verify(new_secret)

    assert cli(url, "webhooks", "delete", hook_id).exit_code == 0
    assert_user_error(cli(url, "webhooks", "deliveries", hook_id), "not found")


def test_cli_refuses_http_and_private_targets_without_the_setting(url: str) -> None:
    assert_user_error(cli(url, "webhooks", "create", "http://127.0.0.1:9/x"), "https")
    assert_user_error(cli(url, "webhooks", "create", "https://10.1.2.3/x"), "private")
    assert_user_error(
        cli(url, "webhooks", "create", "https://h.example/", "--event", "nope"), "nope"
    )
