from __future__ import annotations

from fastapi import APIRouter

from sendwarden.api.deps import CurrentUser, State
from sendwarden.api.schemas import ValidateRequest, ValidateResponse
from sendwarden.schemas.attempts import CheckOut
from sendwarden.services.policy_check import CheckRequest
from sendwarden.services.validation_batch import batcher_for

router = APIRouter(tags=["policy"])


@router.post("/policy/validate", response_model=ValidateResponse)
async def validate(body: ValidateRequest, user: CurrentUser, state: State) -> ValidateResponse:
    """Dry-run every policy rule for a prospective send. Recorded in the audit log."""
    request = CheckRequest(user.id, body.recipient_email, body.sender_email, body.subject, None)
    decision = await batcher_for(state.db, state.policy).validate(request)
    return ValidateResponse(
        allowed=decision.allowed,
        reason=decision.reason,
        legal_basis=decision.legal_basis,
        daily_user_count=decision.user_count,
        daily_user_limit=decision.user_cap,
        daily_domain_count=decision.domain_count,
        daily_domain_limit=decision.domain_cap,
        region=decision.region,
        checks=[CheckOut(name=c.name, passed=c.passed, detail=c.detail) for c in decision.checks],
        effective_sender_email=decision.sender.effective,
        requested_sender_email=decision.sender.requested,
        recipient_email=decision.recipient_email,
        registrable_domain=decision.registrable_domain,
    )
