from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sendwarden.api.deps import invalid_key_error, provisional_key
from sendwarden.api.lean import json_body, openapi_body
from sendwarden.api.schemas import ValidateRequest, ValidateResponse
from sendwarden.api.state import AppState
from sendwarden.policy import PolicyDecision
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
    return JSONResponse(_validate_response(decision))


def _validate_response(decision: PolicyDecision) -> dict[str, object]:
    return {
        "allowed": decision.allowed,
        "reason": decision.reason,
        "legal_basis": decision.legal_basis,
        "daily_user_count": decision.user_count,
        "daily_user_limit": decision.user_cap,
        "daily_domain_count": decision.domain_count,
        "daily_domain_limit": decision.domain_cap,
        "region": decision.region,
        "checks": policy_check.checks_payload(decision),
        "effective_sender_email": decision.sender.effective,
        "requested_sender_email": decision.sender.requested,
        "recipient_email": decision.recipient_email,
        "registrable_domain": decision.registrable_domain,
    }
