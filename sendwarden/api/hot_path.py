"""`POST /policy/validate` on its happy path, served straight from ASGI.

FastAPI's routing, exception and dependency layers cost about as much CPU as the
validate itself (the route table is matched entry by entry, then two more layers
of wrappers per request). This middleware sits inside the app's own middleware
(request id and log line, body size limit), so those still apply, and answers the
one case that matters for throughput: a cached API key, a body that parses, a
batch that succeeds. Everything else, an unknown key, a bad body, a revoked key,
a database failure, is replayed to the full application with the body already
read, and the FastAPI route (`api.routes.policy`) gives the answer it always
gave. Both paths run the same code (`run_validate`); nothing is written before a
replay, because the batch's transaction either committed (and then there is no
replay) or rolled back.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sendwarden.api.deps import MAX_KEY_LENGTH
from sendwarden.api.schemas import ValidateRequest
from sendwarden.api.state import AppState
from sendwarden.services import policy_check
from sendwarden.services.errors import KeyRevoked
from sendwarden.services.policy_check import CheckRequest
from sendwarden.services.validation_batch import batcher_for
from sendwarden.storage.users import Authenticated


async def run_validate(
    state: AppState, key: Authenticated, body: ValidateRequest
) -> dict[str, Any]:
    """The validate's answer, audited; `KeyRevoked` (and the key forgotten) if it is gone."""
    check = CheckRequest(key.user.id, body.recipient_email, body.sender_email, body.subject, None)
    try:
        decision = await batcher_for(state.db, state.policy).validate(check, key_id=key.key_id)
    except KeyRevoked:
        state.keys.forget(key.key_id)
        raise
    return policy_check.decision_payload(decision)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and token else None
    return None


class ValidateHotPath:
    def __init__(self, app: ASGIApp, *, path: str, state: AppState) -> None:
        self.app = app
        self.path = path
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        token = _bearer_token(scope)
        key = None
        if token is not None and len(token) <= MAX_KEY_LENGTH and token.isascii():
            key = self.state.keys.cached(token)
        if key is None:  # missing, unknown or not checked lately: the route checks it in full
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        payload = None
        if body is not None:
            try:
                payload = await run_validate(
                    self.state, key, ValidateRequest.model_validate_json(body)
                )
            except Exception:  # noqa: BLE001
                # A bad body (422), a revoked key (401), the database (503): nothing was
                # written, and the route runs it again to answer through the error handlers.
                payload = None
        if payload is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        # The bytes JSONResponse would render (compact, UTF-8), in a sixth of the time.
        await Response(to_json(payload), media_type="application/json")(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message received, and the body; None when the client went away mid-way."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
