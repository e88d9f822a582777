from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from sendwarden.api.deps import CurrentUser, State
from sendwarden.api.errors import GENERIC_500
from sendwarden.schemas.attempts import AttemptOut, SendRequestIn
from sendwarden.services.http_idempotency import Reply, run_once
from sendwarden.services.send import SendRequest, SendResult

router = APIRouter(tags=["send"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retry-safe key: the first response is replayed for 24 h",
    ),
]


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
)
async def send(
    body: SendRequestIn, user: CurrentUser, state: State, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Send one pitch to a lead through policy, reservation and SMTP."""
    pipeline = await state.send_pipeline()
    request = SendRequest(**body.model_dump())

    async def run() -> Reply:
        return _reply(await pipeline.send(user.id, request))

    reply = await run_once(
        state.db,
        user_id=user.id,
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
