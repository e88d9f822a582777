from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import ValidationError

from sendwarden.api.deps import CurrentUser, ReadSession, Session
from sendwarden.api.pagination import Id, Limit, Offset
from sendwarden.schemas.campaigns import (
    BulkFailure,
    BulkLeads,
    BulkReport,
    CampaignCreate,
    CampaignOut,
    LeadCreate,
    LeadOut,
    LeadStatusUpdate,
)
from sendwarden.schemas.common import Page
from sendwarden.services import leads
from sendwarden.services.campaigns import campaign_page, lead_page, owned_campaign
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.storage import campaigns
from sendwarden.storage.models import LeadStatus

router = APIRouter(tags=["campaigns"])


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
    return await campaign_page(session, user.id, limit=limit, offset=offset)


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
        session, user_id=user.id, campaign_id=campaign_id, data=leads.LeadInput.from_body(body)
    )
    if not created:
        response.status_code = 200
    return LeadOut.from_row(lead, created)


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
                session,
                user_id=user.id,
                campaign_id=campaign_id,
                data=leads.LeadInput.from_body(item),
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
    return await lead_page(session, user.id, campaign_id, status=status, limit=limit, offset=offset)


@router.patch("/campaigns/{campaign_id}/leads/{lead_id}/status", response_model=LeadOut)
async def set_lead_status(
    campaign_id: Id, lead_id: Id, body: LeadStatusUpdate, user: CurrentUser, session: Session
) -> LeadOut:
    lead = await campaigns.get_lead(
        session, user_id=user.id, campaign_id=campaign_id, lead_id=lead_id
    )
    if lead is None:
        raise NotFound(f"lead {lead_id} not found in campaign {campaign_id}")
    return LeadOut.from_row(await leads.set_status(session, lead, body.status))
