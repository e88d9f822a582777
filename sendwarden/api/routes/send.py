from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sendwarden.api.deps import invalid_key_error, provisional_key
from sendwarden.api.errors import GENERIC_500
from sendwarden.api.lean import json_body, openapi_body, optional_header
from sendwarden.api.state import AppState
from sendwarden.schemas.attempts import AttemptOut, SendRequestIn
from sendwarden.services.errors import KeyRevoked
from sendwarden.services.http_idempotency import Reply, run_once
from sendwarden.services.send import SendRequest, SendResult

router = APIRouter(tags=["send"])

IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_PARAMETER = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": "Retry-safe key: the first response is replayed for 24 h",
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX, "title": IDEMPOTENCY_KEY},
}


def _reply(result: SendResult) -> Reply:
    if result.outcome == "sent":
        return Reply(200, AttemptOut.from_row(result.attempt).model_dump(mode="json"))
    if result.outcome == "failed":
        return Reply(500, GENERIC_500)
    checks = [
        {"name": c.name, "passed": c.passed, "detail": c.detail} for c in result.decision.checks
    ]
    content: dict[str, Any] = {
        "detail": "Policy validation failed",
        "reason": result.attempt.reason,
        "checks": checks,
        "attempt_id": result.attempt.id,
    }
    if result.outcome == "in_flight":
        content["detail"] = "An identical send is already in progress"
        return Reply(409, content)
    return Reply(403, content)


@router.post(
    "/outreach/send",
    response_model=AttemptOut,
    responses={
        403: {"description": "Policy validation failed"},
        409: {"description": "Duplicate in flight, or Idempotency-Key still running"},
        500: {"description": "SMTP delivery failed (generic message)"},
    },
    openapi_extra=openapi_body(SendRequestIn, headers=[IDEMPOTENCY_KEY_PARAMETER]),
)
async def send(http: Request) -> JSONResponse:
    """Send one pitch to a lead through policy, reservation and SMTP."""
    # Lean (api/lean.py): the key may come from the cache, and decide confirms it.
    state: AppState = http.app.state.sendwarden
    key = await provisional_key(http)
    body = await json_body(http, SendRequestIn)
    idempotency_key = optional_header(http, IDEMPOTENCY_KEY, max_length=IDEMPOTENCY_KEY_MAX)
    pipeline = await state.send_pipeline()
    request = SendRequest(**body.model_dump(), api_key_id=key.key_id)

    async def run() -> Reply:
        try:
            return _reply(await pipeline.send(key.user.id, request))
        except KeyRevoked:
            state.keys.forget(key.key_id)
            raise invalid_key_error() from None

    reply = await run_once(
        state.db,
        user_id=key.user.id,
        key=idempotency_key,
        # Only a keyed request is compared with a stored one: no hash to compute otherwise.
        request_hash=(
            hashlib.sha256(body.model_dump_json().encode()).hexdigest()
            if idempotency_key is not None
            else ""
        ),
        owner=state.lease_owner,
        run=run,
    )
    headers = {"Idempotent-Replayed": "true"} if reply.replayed else None
    return JSONResponse(status_code=reply.status, content=reply.content, headers=headers)
