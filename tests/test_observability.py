"""Metrics, structured logs, health and the OpenAPI document (issue 5)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

import pytest
from opentelemetry import trace

from sendwarden.api import request_log
from sendwarden.observability.logging import configure_logging
from sendwarden.storage.models import MailboxCursor
from sendwarden.storage.types import utcnow
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory
from tests.support.smtp_server import PASSWORD, USERNAME, FaultyServer

ORIGINAL_VALIDATE_REQUEST = {
    "recipient_email": "editor@example.com",
    "sender_email": "outreach@yourdomain.com",
    "subject": "Guest Post: AI Marketing Trends",
}
ORIGINAL_VALIDATE_RESPONSE = {
    "allowed": True,
    "reason": "All checks passed",
    "legal_basis": "legitimate_interest",
    "daily_user_count": 23,
    "daily_user_limit": 100,
    "daily_domain_count": 5,
    "daily_domain_limit": 20,
    "region": "US",
}
ORIGINAL_SUPPRESSION_REQUEST = {
    "email": "unsubscribed@example.com",
    "reason": "User requested unsubscribe",
}


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" ([0-9.e+-]+)"
    match = re.search(r"^" + pattern + r"$", text, flags=re.M)
    return float(match.group(1)) if match else 0.0


async def test_metrics_count_sends_blocks_latency_and_pool(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(
        smtp_host="localhost",
        smtp_port=smtp.port,
        smtp_user=USERNAME,
        smtp_pass=PASSWORD,
        smtp_ca_file=smtp.ca_file,
    )
    before = (await app.client.get("/metrics")).text
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "m@metrics.example")
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 200
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 403
    after = (await app.client.get("/metrics")).text
    assert (
        metric(after, "sendwarden_sends_total", 'result="sent"')
        == metric(before, "sendwarden_sends_total", 'result="sent"') + 1
    )
    assert (
        metric(after, "sendwarden_blocks_total", 'rule="idempotency"')
        == metric(before, "sendwarden_blocks_total", 'rule="idempotency"') + 1
    )
    assert (
        metric(after, "sendwarden_smtp_seconds_count")
        == metric(before, "sendwarden_smtp_seconds_count") + 1
    )
    assert metric(after, "sendwarden_smtp_pool_connections") >= 1


async def test_metrics_count_group_commit_batches_and_items(api: ApiHarness) -> None:
    def counts(text: str) -> tuple[float, float]:
        labels = 'kind="validate"'
        return (
            metric(text, "sendwarden_group_commit_batches_total", labels),
            metric(text, "sendwarden_group_commit_items_total", labels),
        )

    batches, items = counts((await api.client.get("/metrics")).text)
    body = {"recipient_email": "metric@example.com"}
    for r in await asyncio.gather(
        *(
            api.client.post(f"{API}/policy/validate", json=body, headers=api.alice.headers)
            for _ in range(5)
        )
    ):
        assert r.status_code == 200
    after_batches, after_items = counts((await api.client.get("/metrics")).text)
    assert after_items - items == 5
    assert 1 <= after_batches - batches <= 5


class RecordingTracerProvider(trace.TracerProvider):
    """A configured provider, as far as FastAPI can tell; records who asks it for a tracer."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_tracer(self, instrumenting_module_name: str, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(instrumenting_module_name)
        return trace.NoOpTracer()


@pytest.mark.parametrize("enabled", [False, True])
async def test_fastapi_opentelemetry_runs_only_when_enabled(
    api_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    provider = RecordingTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    app = await api_factory(sendwarden_opentelemetry=enabled)
    assert (await app.client.get("/healthz")).status_code == 200
    assert provider.asked == (["fastapi"] if enabled else [])


async def test_metrics_report_poll_lag_from_the_database(api: ApiHarness) -> None:
    assert "sendwarden_poll_lag_seconds" not in (await api.client.get("/metrics")).text
    async with api.db.transaction() as session:
        session.add(MailboxCursor(mailbox="m", uidvalidity=1, last_uid=0, last_poll_at=utcnow()))
    lag = metric((await api.client.get("/metrics")).text, "sendwarden_poll_lag_seconds")
    assert 0 <= lag < 60


async def test_logs_are_json_lines_with_request_id_and_no_secrets(
    api: ApiHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")  # bind the JSON handler to this test's captured stderr
    r = await api.client.post(
        f"{API}/policy/validate",
        json={"recipient_email": "log@example.com"},
        headers={**api.alice.headers, "X-Request-ID": "req-123"},
    )
    assert r.headers["x-request-id"] == "req-123"
    generated = await api.client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert any(
        line["request_id"] == "req-123"
        and line["path"].endswith("/policy/validate")
        and line["status"] == 200
        for line in request_lines
    )
    assert api.alice.key not in json.dumps(lines)


async def test_healthz_reports_database_down(api_factory: AppFactory) -> None:
    app = await api_factory()
    await app.db.dispose()
    app.db.engine = __import__("sqlalchemy.ext.asyncio", fromlist=["x"]).create_async_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    r = await app.client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"


async def test_openapi_examples_equal_the_original_spec(api: ApiHarness) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert components["ValidateRequest"]["examples"] == [ORIGINAL_VALIDATE_REQUEST]
    assert components["ValidateResponse"]["examples"] == [ORIGINAL_VALIDATE_RESPONSE]
    assert components["SuppressionCreate"]["examples"] == [ORIGINAL_SUPPRESSION_REQUEST]
    assert (await api.client.get("/docs")).status_code == 200


def test_request_ids_are_unique_and_differ_in_a_forked_worker() -> None:
    ids = {request_log.new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(len(i) == 32 for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first id and leave at once
        os.write(write, request_log.new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child[:16] != request_log.new_request_id()[:16]
