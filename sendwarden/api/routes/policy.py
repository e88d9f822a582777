from __future__ import annotations

from fastapi import APIRouter

from sendwarden.api.deps import CurrentUser, Session, State
from sendwarden.api.schemas import ValidateRequest, ValidateResponse
from sendwarden.schemas.attempts import CheckOut
from sendwarden.services import policy_check

router = APIRouter(tags=["policy"])


@router.post("/policy/validate", response_model=ValidateResponse)
async def validate(
    body: ValidateRequest, user: CurrentUser, state: State, session: Session
) -> ValidateResponse:
    """Dry-run every policy rule for a prospective send. Recorded in the audit log."""
    decision = await policy_check.check(
        session,
        user_id=user.id,
        recipient=body.recipient_email,
        requested_sender=body.sender_email,
        subject=body.subject,
        consent_recorded=None,
        settings=state.policy,
    )
    await policy_check.record_validation(session, decision, user_id=user.id, subject=body.subject)
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
