from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from sendwarden.api.deps import CurrentUser, State
from sendwarden.api.errors import GENERIC_500
from sendwarden.api.schemas import AttemptOut, SendRequestIn
from sendwarden.services.errors import Conflict, InvalidInput
from sendwarden.services.send import SendRequest, SendResult
from sendwarden.storage import request_keys

router = APIRouter(tags=["send"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retry-safe key: the first response is replayed for 24 h",
    ),
]


def _response(result: SendResult) -> JSONResponse:
    if result.outcome == "sent":
        return JSONResponse(AttemptOut.from_row(result.attempt).model_dump(mode="json"))
    if result.outcome == "failed":
        return JSONResponse(status_code=500, content=GENERIC_500)
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
        return JSONResponse(status_code=409, content=content)
    return JSONResponse(status_code=403, content=content)


@router.post(
    "/outreach/send",
    response_model=AttemptOut,
    responses={
        403: {"description": "Policy validation failed"},
        409: {"description": "Duplicate in flight, or Idempotency-Key still running"},
        500: {"description": "SMTP delivery failed (generic message)"},
    },
)
async def send(
    body: SendRequestIn, user: CurrentUser, state: State, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Send one pitch to a lead through policy, reservation and SMTP."""
    pipeline = await state.send_pipeline()
    request = SendRequest(
        campaign_id=body.campaign_id,
        lead_id=body.lead_id,
        subject=body.subject,
        body=body.body,
        html_body=body.html_body,
        sender_email=body.sender_email,
    )
    if idempotency_key is None:
        return _response(await pipeline.send(user.id, request))

    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    async with state.db.transaction() as session:
        existing = await request_keys.claim(
            session,
            user_id=user.id,
            key=idempotency_key,
            request_hash=request_hash,
            owner=state.lease_owner,
        )
    if existing is not None:
        if existing.request_hash != request_hash:
            raise InvalidInput(
                "Idempotency-Key", "this key was already used with different request parameters"
            )
        if existing.state != request_keys.DONE or existing.response_status is None:
            raise Conflict("A request with this Idempotency-Key is still in progress")
        return JSONResponse(
            status_code=existing.response_status,
            content=json.loads(existing.response_body or "null"),
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = _response(await pipeline.send(user.id, request))
    except Exception:
        # No response to replay: free the key. A retry cannot resend anything that
        # reached SMTP, because the policy idempotency key is still held.
        with contextlib.suppress(Exception):
            async with state.db.transaction() as session:
                await request_keys.abandon(session, user_id=user.id, key=idempotency_key)
        raise
    async with state.db.transaction() as session:
        await request_keys.complete(
            session,
            user_id=user.id,
            key=idempotency_key,
            status=response.status_code,
            body=bytes(response.body).decode(),
        )
    return response
