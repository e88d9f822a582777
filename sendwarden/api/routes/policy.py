from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sendwarden.api.deps import invalid_key_error, provisional_key
from sendwarden.api.lean import json_body, openapi_body
from sendwarden.api.schemas import ValidateRequest, ValidateResponse
from sendwarden.api.state import AppState
from sendwarden.services import policy_check
from sendwarden.services.errors import KeyRevoked
from sendwarden.services.policy_check import CheckRequest
from sendwarden.services.validation_batch import batcher_for

router = APIRouter(tags=["policy"])


@router.post(
    "/policy/validate",
    response_model=ValidateResponse,
    openapi_extra=openapi_body(ValidateRequest),
)
async def validate(request: Request) -> JSONResponse:
    """Dry-run every policy rule for a prospective send. Recorded in the audit log."""
    state: AppState = request.app.state.sendwarden
    key = await provisional_key(request)
    body = await json_body(request, ValidateRequest)
    check = CheckRequest(key.user.id, body.recipient_email, body.sender_email, body.subject, None)
    try:
        decision = await batcher_for(state.db, state.policy).validate(check, key_id=key.key_id)
    except KeyRevoked:
        state.keys.forget(key.key_id)
        raise invalid_key_error() from None
    # A JSONResponse of a plain dict: the response model documents the shape, and
    # validating our own output again cost more than building it.
    return JSONResponse(policy_check.decision_payload(decision))
