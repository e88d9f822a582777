from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from sendwarden.api.deps import CurrentUser, ReadSession
from sendwarden.api.schemas import AuditOut
from sendwarden.schemas.common import Page
from sendwarden.schemas.fields import FreeText
from sendwarden.storage import audit
from sendwarden.storage.models import AuditEntry

router = APIRouter(tags=["audit"])


def audit_out(e: AuditEntry) -> AuditOut:
    return AuditOut(
        seq=e.seq,
        timestamp=e.created_at,
        event=e.event,
        user_id=e.user_id,
        lead_email=e.lead_email,
        sender_email=e.sender_email,
        requested_sender_email=e.requested_sender_email,
        subject=e.subject,
        policy_result=e.policy_result,
        reason=e.reason,
        legal_basis=e.legal_basis,
        region=e.region,
        attempt_id=e.attempt_id,
        details=json.loads(e.details or "{}"),
        entry_hash=e.entry_hash,
        prev_hash=e.prev_hash,
    )


@router.get("/audit-logs", response_model=Page[AuditOut])
async def list_audit_logs(
    user: CurrentUser,
    session: ReadSession,
    since: datetime | None = None,
    until: datetime | None = None,
    result: Literal["approved", "blocked"] | None = None,
    recipient: Annotated[FreeText | None, Query(max_length=320)] = None,
    event: Annotated[FreeText | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[AuditOut]:
    """Your audit entries, newest first. Times are ISO 8601 (naive times are UTC)."""
    rows, total = await audit.list_entries(
        session,
        audit.AuditFilter(
            user_id=user.id,
            since=_aware(since),
            until=_aware(until),
            policy_result=result,
            recipient=recipient,
            event=event,
        ),
        limit=limit,
        offset=offset,
    )
    return Page(items=[audit_out(e) for e in rows], total=total, limit=limit, offset=offset)


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
