"""`sendwarden campaigns ...`: the campaigns that group your leads."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.output import print_fields, print_json, print_page
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
)
from sendwarden.schemas.campaigns import CampaignCreate, CampaignOut
from sendwarden.schemas.common import Page
from sendwarden.services.campaigns import campaign_page, owned_campaign
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.storage import campaigns
from sendwarden.storage.models import Campaign

M = TypeVar("M", bound=BaseModel)

# The database's integer ids (and the HTTP API's path limits) stop here.
MAX_ID = 2**31 - 1

campaigns_app = typer.Typer(help="Create, list, show and delete campaigns.", no_args_is_help=True)

CampaignIdArgument = Annotated[int, typer.Argument(help="Campaign ID.", min=1, max=MAX_ID)]
CampaignOption = Annotated[
    int, typer.Option("--campaign", min=1, max=MAX_ID, help="Campaign ID.", show_default=False)
]


def validated(model: type[M], values: dict[str, Any]) -> M:
    """Input checked by the HTTP API's own request model, so both edges accept the same."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "value"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise InvalidInput(where, message) from None


@campaigns_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Campaign name (up to 200 characters).")],
    description: Annotated[
        str | None, typer.Option("--description", help="What the campaign is about.")
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a campaign; add leads to it with `sendwarden leads add` or `leads import`."""
    body = validated(CampaignCreate, {"name": name, "description": description})

    async def work(session: AsyncSession) -> Campaign:
        owner = await acting_user(session, user)
        return await campaigns.create_campaign(
            session, user_id=owner.id, name=body.name, description=body.description
        )

    created = CampaignOut.from_row(in_transaction(work))
    if as_json:
        print_json(created.model_dump(mode="json"))
        return
    typer.echo(f"Created campaign {created.id} ({created.name}).")


@campaigns_app.command("list")
def list_campaigns(
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List your campaigns with their lead counts, oldest first."""

    async def work(session: AsyncSession) -> Page[CampaignOut]:
        owner = await acting_user(session, user)
        return await campaign_page(session, owner.id, limit=limit, offset=offset)

    page = in_transaction(work)
    print_page(
        [c.model_dump() for c in page.items],
        [
            ("ID", "id"),
            ("Name", "name"),
            ("Leads", "lead_count"),
            ("Created (UTC)", "created_at"),
            ("Description", "description"),
        ],
        total=page.total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@campaigns_app.command("show")
def show(
    campaign_id: CampaignIdArgument, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """Show one campaign and how many leads it has."""

    async def work(session: AsyncSession) -> CampaignOut:
        owner = await acting_user(session, user)
        campaign = await owned_campaign(session, owner.id, campaign_id)
        counts = await campaigns.lead_counts(session, [campaign.id])
        return CampaignOut.from_row(campaign, counts.get(campaign.id, 0))

    shown = in_transaction(work)
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    print_fields(
        [
            ("id", shown.id),
            ("name", shown.name),
            ("description", shown.description),
            ("lead_count", shown.lead_count),
            ("created_at", shown.created_at),
        ],
        title=f"Campaign {shown.id}",
    )


@campaigns_app.command("delete")
def delete(campaign_id: CampaignIdArgument, user: UserOption = None) -> None:
    """Delete a campaign and its leads; attempts, replies and the audit log are kept."""

    async def work(session: AsyncSession) -> int:
        owner = await acting_user(session, user)
        await owned_campaign(session, owner.id, campaign_id)
        counts = await campaigns.lead_counts(session, [campaign_id])
        if not await campaigns.delete_campaign(session, user_id=owner.id, campaign_id=campaign_id):
            raise NotFound(f"campaign {campaign_id} not found")
        return counts.get(campaign_id, 0)

    lead_count = in_transaction(work)
    noun = "lead" if lead_count == 1 else "leads"
    typer.echo(f"Deleted campaign {campaign_id} and its {lead_count} {noun}.")


def register(app: typer.Typer) -> None:
    app.add_typer(campaigns_app, name="campaigns")
