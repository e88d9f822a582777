"""POST /policy/validate's happy path is answered straight from ASGI (api.hot_path);
every other case reaches the FastAPI route with its body intact, and both paths
give the same answer."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from starlette.types import Message, Receive, Scope, Send

from sendwarden.api import hot_path
from sendwarden.api.app import API_PREFIX
from sendwarden.api.hot_path import ValidateHotPath
from sendwarden.api.state import AppState
from sendwarden.observability.logging import configure_logging
from sendwarden.storage.models import AuditEntry
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness

PATH = f"{API_PREFIX}/policy/validate"
BODY = {"recipient_email": "editor@hot.example", "subject": "Guest post"}


class Route:
    """Stands in for the rest of the app: records what reached it and answers 299."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(
    app: ValidateHotPath, body: bytes, key: str, *, chunks: int = 1
) -> tuple[int, dict[str, Any] | None]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "headers": [(b"authorization", f"Bearer {key}".encode()), (b"x-other", b"1")],
    }
    size = max(1, -(-len(body) // chunks))
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload) if payload else None


def state_of(api: ApiHarness) -> AppState:
    state: AppState = api.client._transport.app.state.sendwarden  # type: ignore[attr-defined]
    return state


async def audited(api: ApiHarness) -> int:
    async with api.db.read() as session:
        found = await session.scalar(
            select(func.count()).where(AuditEntry.event == "policy_validate")
        )
    return int(found or 0)


async def test_a_cached_key_is_answered_without_the_route(api: ApiHarness) -> None:
    state, route = state_of(api), Route()
    assert await state.keys.check_provisional(api.alice.key) is not None
    app = ValidateHotPath(route, path=PATH, state=state)
    status, payload = await call(app, json.dumps(BODY).encode(), api.alice.key, chunks=3)
    assert status == 200 and payload is not None
    assert payload["allowed"] is True and payload["recipient_email"] == BODY["recipient_email"]
    assert route.calls == []
    assert await audited(api) == 1


async def test_a_key_not_checked_lately_goes_to_the_route(api: ApiHarness) -> None:
    state, route = state_of(api), Route()
    app = ValidateHotPath(route, path=PATH, state=state)
    status, _ = await call(app, json.dumps(BODY).encode(), api.alice.key)
    assert status == 299 and route.calls == [json.dumps(BODY).encode()]
    assert await audited(api) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        json.dumps({"recipient_email": "no-at-sign"}).encode(),
        json.dumps({**BODY, "subject": "x\r\nBcc: all@victims.example"}).encode(),
        json.dumps({**BODY, "unexpected": 1}).encode(),
    ],
)
async def test_a_bad_body_reaches_the_route_unchanged(api: ApiHarness, body: bytes) -> None:
    state, route = state_of(api), Route()
    await state.keys.check_provisional(api.alice.key)
    app = ValidateHotPath(route, path=PATH, state=state)
    status, _ = await call(app, body, api.alice.key, chunks=2)
    assert status == 299 and route.calls == [body]
    assert await audited(api) == 0


async def test_a_database_failure_reaches_the_route_with_nothing_written(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, route = state_of(api), Route()
    await state.keys.check_provisional(api.alice.key)

    async def broken(*_: Any) -> Any:
        raise OperationalError("BEGIN", {}, Exception("database is locked"))

    monkeypatch.setattr(hot_path, "run_validate", broken)
    app = ValidateHotPath(route, path=PATH, state=state)
    status, _ = await call(app, json.dumps(BODY).encode(), api.alice.key)
    assert status == 299 and route.calls == [json.dumps(BODY).encode()]
    assert await audited(api) == 0


async def test_other_requests_pass_through_untouched(api: ApiHarness) -> None:
    route = Route()
    app = ValidateHotPath(route, path=PATH, state=state_of(api))
    for method, path in (("GET", PATH), ("POST", PATH + "x"), ("POST", "/healthz")):
        scope = {"type": "http", "method": method, "path": path, "headers": []}
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Message, sent: list[Message] = sent) -> None:
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 299


async def test_the_hot_path_and_the_route_answer_alike(api: ApiHarness) -> None:
    """The first request (key not cached yet) is routed, the second is hot."""
    answers = []
    for _ in range(2):
        r = await api.client.post(f"{API}/policy/validate", json=BODY, headers=api.alice.headers)
        assert r.status_code == 200, r.text
        answers.append(r)
    routed, hot = answers
    assert hot.json() == routed.json()
    assert routed.headers["content-type"] == hot.headers["content-type"] == "application/json"
    assert set(routed.headers) == set(hot.headers)  # x-request-id included
    assert await audited(api) == 2


async def test_an_oversized_body_gets_413_with_a_cached_key(api: ApiHarness) -> None:
    limit = state_of(api).settings.sendwarden_max_body_bytes
    headers = api.alice.headers
    assert (await api.client.post(PATH, json=BODY, headers=headers)).status_code == 200
    r = await api.client.post(PATH, json={**BODY, "subject": "x" * limit}, headers=headers)
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert await audited(api) == 1


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The app's JSON log lines, written to a buffer; the handlers before are put back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    with monkeypatch.context() as patched:
        patched.setattr(sys, "stderr", stream)
        configure_logging("INFO")
    yield stream
    root.handlers, root.level = handlers, level


async def test_hot_and_routed_answers_carry_one_log_line_and_the_request_id(
    api: ApiHarness, json_log: io.StringIO
) -> None:
    ids = []
    for given in ("routed-1", "hot-2", "", "bad id!"):  # "" and a bad id: generated
        headers = {**api.alice.headers, "X-Request-ID": given}
        r = await api.client.post(PATH, json=BODY, headers=headers)
        assert r.status_code == 200
        ids.append(r.headers["x-request-id"])
    unknown = {"Authorization": "Bearer sw_nope", "X-Request-ID": "refused-5"}
    assert (await api.client.post(PATH, json=BODY, headers=unknown)).status_code == 401
    ids.append("refused-5")
    assert ids[:2] == ["routed-1", "hot-2"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids[2:4]) and ids[2] != ids[3]
    lines = [json.loads(x) for x in json_log.getvalue().splitlines() if x.startswith("{")]
    logged = [(x["request_id"], x["status"]) for x in lines if x.get("event") == "request"]
    assert logged == [(i, 200) for i in ids[:4]] + [("refused-5", 401)]
