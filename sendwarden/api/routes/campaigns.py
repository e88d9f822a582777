from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field, ValidationError

from sendwarden.api.deps import CurrentUser, ReadSession, Session
from sendwarden.api.fields import FreeText
from sendwarden.api.schemas import (
    AttemptOut,
    BulkFailure,
    BulkLeads,
    BulkReport,
    CampaignCreate,
    CampaignOut,
    LeadCreate,
    LeadOut,
    LeadStatusUpdate,
    Page,
    Request,
)
from sendwarden.services import leads, resolution
from sendwarden.services.campaigns import owned_campaign
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.storage import attempts, campaigns
from sendwarden.storage.models import AttemptStatus, LeadStatus
from sendwarden.webhooks import emit as webhook_events

router = APIRouter(tags=["campaigns"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
async def create_campaign(body: CampaignCreate, user: CurrentUser, session: Session) -> CampaignOut:
    campaign = await campaigns.create_campaign(
        session, user_id=user.id, name=body.name, description=body.description
    )
    return CampaignOut.from_row(campaign)


@router.get("/campaigns", response_model=Page[CampaignOut])
async def list_campaigns(
    user: CurrentUser, session: ReadSession, limit: Limit = 50, offset: Offset = 0
) -> Page[CampaignOut]:
    rows, total = await campaigns.list_campaigns(
        session, user_id=user.id, limit=limit, offset=offset
    )
    counts = await campaigns.lead_counts(session, [c.id for c in rows])
    return Page(
        items=[CampaignOut.from_row(c, counts.get(c.id, 0)) for c in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: Id, user: CurrentUser, session: ReadSession) -> CampaignOut:
    campaign = await owned_campaign(session, user.id, campaign_id)
    counts = await campaigns.lead_counts(session, [campaign.id])
    return CampaignOut.from_row(campaign, counts.get(campaign.id, 0))


@router.delete("/campaigns/{campaign_id}", status_code=204)
async def delete_campaign(campaign_id: Id, user: CurrentUser, session: Session) -> Response:
    """Delete a campaign and its leads. Attempts and the audit log are kept."""
    if not await campaigns.delete_campaign(session, user_id=user.id, campaign_id=campaign_id):
        raise NotFound(f"campaign {campaign_id} not found")
    return Response(status_code=204)


@router.post("/campaigns/{campaign_id}/leads", response_model=LeadOut, status_code=201)
async def add_lead(
    campaign_id: Id, body: LeadCreate, user: CurrentUser, session: Session, response: Response
) -> LeadOut:
    """Add a lead; a website already in the campaign returns the existing lead (200)."""
    await owned_campaign(session, user.id, campaign_id)
    lead, created = await leads.add_lead(
        session, user_id=user.id, campaign_id=campaign_id, data=_lead_input(body)
    )
    if not created:
        response.status_code = 200
    return LeadOut.from_row(lead, created)


def _lead_input(body: LeadCreate) -> leads.LeadInput:
    return leads.LeadInput(
        website_url=body.website_url,
        contact_email=body.contact_email,
        contact_name=body.contact_name,
        consent=body.consent,
        notes=body.notes,
    )


@router.post("/campaigns/{campaign_id}/leads/bulk", response_model=BulkReport)
async def add_leads_bulk(
    campaign_id: Id, body: BulkLeads, user: CurrentUser, session: Session
) -> BulkReport:
    """Add many leads; each is validated on its own and failures are reported by index."""
    await owned_campaign(session, user.id, campaign_id)
    added = skipped = 0
    failed: list[BulkFailure] = []
    out: list[LeadOut] = []
    for index, raw in enumerate(body.leads):
        try:
            item = LeadCreate.model_validate(raw)
            lead, created = await leads.add_lead(
                session, user_id=user.id, campaign_id=campaign_id, data=_lead_input(item)
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
            failed.append(
                BulkFailure(index=index, error=f"{where}: {message}" if where else message)
            )
            continue
        except InvalidInput as exc:
            failed.append(BulkFailure(index=index, error=str(exc)))
            continue
        if created:
            added += 1
        else:
            skipped += 1
        out.append(LeadOut.from_row(lead, created))
    return BulkReport(added=added, skipped=skipped, failed=failed, leads=out)


@router.get("/campaigns/{campaign_id}/leads", response_model=Page[LeadOut])
async def list_leads(
    campaign_id: Id,
    user: CurrentUser,
    session: ReadSession,
    status: LeadStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LeadOut]:
    await owned_campaign(session, user.id, campaign_id)
    rows, total = await campaigns.list_leads(
        session,
        user_id=user.id,
        campaign_id=campaign_id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    return Page(items=[LeadOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset)


@router.patch("/campaigns/{campaign_id}/leads/{lead_id}/status", response_model=LeadOut)
async def set_lead_status(
    campaign_id: Id, lead_id: Id, body: LeadStatusUpdate, user: CurrentUser, session: Session
) -> LeadOut:
    lead = await campaigns.get_lead(
        session, user_id=user.id, campaign_id=campaign_id, lead_id=lead_id
    )
    if lead is None:
        raise NotFound(f"lead {lead_id} not found in campaign {campaign_id}")
    await webhook_events.lead_status(session, lead, body.status.value)
    lead.status = body.status.value
    await session.flush()
    return LeadOut.from_row(lead)


@router.get("/campaigns/{campaign_id}/attempts", response_model=Page[AttemptOut])
async def list_attempts(
    campaign_id: Id,
    user: CurrentUser,
    session: ReadSession,
    status: AttemptStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AttemptOut]:
    await owned_campaign(session, user.id, campaign_id)
    rows, total = await attempts.list_attempts(
        session,
        user_id=user.id,
        campaign_id=campaign_id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[AttemptOut.from_row(a) for a in rows], total=total, limit=limit, offset=offset
    )


@router.get("/attempts", response_model=Page[AttemptOut])
async def list_all_attempts(
    user: CurrentUser,
    session: ReadSession,
    status: AttemptStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AttemptOut]:
    """Your attempts, newest first; `?status=unknown` lists those an operator must resolve."""
    rows, total = await attempts.list_attempts(
        session,
        user_id=user.id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[AttemptOut.from_row(a) for a in rows], total=total, limit=limit, offset=offset
    )


@router.get("/attempts/{attempt_id}", response_model=AttemptOut)
async def get_attempt(attempt_id: Id, user: CurrentUser, session: ReadSession) -> AttemptOut:
    attempt = await attempts.get_attempt(session, user_id=user.id, attempt_id=attempt_id)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} not found")
    return AttemptOut.from_row(attempt)


class ResolveAttempt(Request):
    outcome: Literal["sent", "failed"]
    note: FreeText | None = Field(default=None, max_length=1000)


@router.post("/attempts/{attempt_id}/resolve", response_model=AttemptOut)
async def resolve_attempt(
    attempt_id: Id, body: ResolveAttempt, user: CurrentUser, session: Session
) -> AttemptOut:
    """Settle an `unknown` attempt after checking the mail server's logs.

    `failed` releases its idempotency key so the pitch can be sent again.
    """
    attempt = await resolution.resolve_unknown(
        session, user_id=user.id, attempt_id=attempt_id, outcome=body.outcome, note=body.note
    )
    return AttemptOut.from_row(attempt)
