from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sendwarden.api.deps import invalid_key_error, provisional_key
from sendwarden.api.hot_path import run_validate
from sendwarden.api.lean import json_body, openapi_body
from sendwarden.api.schemas import ValidateRequest, ValidateResponse
from sendwarden.api.state import AppState
from sendwarden.services.errors import KeyRevoked

router = APIRouter(tags=["policy"])


@router.post(
    "/policy/validate",
    response_model=ValidateResponse,
    openapi_extra=openapi_body(ValidateRequest),
)
async def validate(request: Request) -> JSONResponse:
    """Dry-run every policy rule for a prospective send. Recorded in the audit log."""
    # Most requests never get here: api.hot_path answers those with a cached key.
    state: AppState = request.app.state.sendwarden
    key = await provisional_key(request)
    body = await json_body(request, ValidateRequest)
    try:
        payload = await run_validate(state, key, body)
    except KeyRevoked:
        raise invalid_key_error() from None
    # A JSONResponse of a plain dict: the response model documents the shape, and
    # validating our own output again cost more than building it.
    return JSONResponse(payload)
