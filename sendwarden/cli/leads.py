"""`sendwarden leads ...`: the websites (and contacts) of a campaign."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.campaigns import MAX_ID, CampaignOption, validated
from sendwarden.cli.errors import CliError
from sendwarden.cli.output import (
    advance_to,
    print_json,
    print_page,
    print_table,
    progress_bar,
)
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
)
from sendwarden.schemas.campaigns import LeadCreate, LeadOut
from sendwarden.schemas.common import Page
from sendwarden.services import leads
from sendwarden.services.campaigns import lead_page, owned_campaign
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.services.lead_csv import LEAD_COLUMNS, CsvRow, LeadCsvError, parse_lead_csv
from sendwarden.storage import campaigns
from sendwarden.storage.models import Lead, LeadStatus

leads_app = typer.Typer(
    help="Add, import, list and update the leads (websites) of a campaign.", no_args_is_help=True
)


def lead_input(values: dict[str, Any]) -> leads.LeadInput:
    """Checked like the HTTP API's lead body: the address through `normalize_email`, and so on.

    Raises InvalidInput naming the field; the website itself is checked by the service.
    """
    return leads.LeadInput.from_body(validated(LeadCreate, values))


# -- commands ----------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)


@leads_app.command("add")
def add(
    campaign: CampaignOption,
    website: Annotated[
        str, typer.Option("--website", help="The site's URL, e.g. https://example.com/blog.")
    ],
    email: Annotated[
        str | None, typer.Option("--email", help="Contact address at the site.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Contact's name.")] = None,
    consent: Annotated[
        bool, typer.Option("--consent", help="Record that the contact consented (time noted).")
    ] = False,
    notes: Annotated[str | None, typer.Option("--notes", help="Free-text notes.")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a lead; a website already in the campaign reports the existing lead, unchanged."""
    data = lead_input(
        {
            "website_url": website,
            "contact_email": email,
            "contact_name": name,
            "consent": consent,
            "notes": notes,
        }
    )

    async def work(session: AsyncSession) -> tuple[Lead, bool]:
        owner = await acting_user(session, user)
        await owned_campaign(session, owner.id, campaign)
        return await leads.add_lead(session, user_id=owner.id, campaign_id=campaign, data=data)

    lead, created = in_transaction(work)
    if as_json:
        print_json(LeadOut.from_row(lead, created).model_dump(mode="json"))
    elif created:
        typer.echo(f"Added lead {lead.id} ({lead.website_url}) to campaign {campaign}.")
    else:
        typer.echo(
            f"Lead {lead.id} already exists for {lead.website_url} in campaign {campaign};"
            " left unchanged."
        )


@leads_app.command("import")
def import_file(
    campaign: CampaignOption,
    file: Annotated[
        Path,
        typer.Argument(
            help=f"CSV with the header {','.join(LEAD_COLUMNS)} (only website_url required).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import leads from a CSV; good rows are added, bad rows reported with their line numbers.

    A website already in the campaign counts as existing and is left unchanged.
    Lines that are not UTF-8 are reported and skipped. Exit status 0 even when
    some rows fail (they are listed).
    """
    data = file.read_bytes()
    if not data.strip():
        raise CliError(f"{file} is empty")
    try:
        rows = parse_lead_csv(data)
    except LeadCsvError as exc:
        raise CliError(str(exc)) from exc

    async def work(session: AsyncSession) -> ImportReport:
        owner = await acting_user(session, user)
        await owned_campaign(session, owner.id, campaign)
        report = ImportReport()
        with progress_bar(f"Importing {file.name}", len(rows)) as progress:
            for done, row in enumerate(rows, start=1):
                await _import_row(session, owner.id, campaign, row, report)
                advance_to(progress, done)
        return report

    report = in_transaction(work)
    failed = [{"line": n, "value": v, "error": e} for n, v, e in report.failed]
    if as_json:
        print_json({"added": report.added, "existing": report.existing, "failed": failed})
        return
    typer.echo(
        f"Added {report.added}, existing {report.existing} (same website), failed {len(failed)}."
    )
    if failed:
        print_table(
            ["Line", "Website", "Problem"],
            [(f["line"], f["value"], f["error"]) for f in failed],
            title="Rows not imported",
        )


async def _import_row(
    session: AsyncSession, user_id: int, campaign_id: int, row: CsvRow, report: ImportReport
) -> None:
    if row.error is not None:
        report.failed.append((row.line, row.preview, row.error))
        return
    try:
        _, created = await leads.add_lead(
            session, user_id=user_id, campaign_id=campaign_id, data=lead_input(row.values)
        )
    except InvalidInput as exc:
        report.failed.append((row.line, row.preview, str(exc)))
        return
    if created:
        report.added += 1
    else:
        report.existing += 1


@leads_app.command("list")
def list_leads(
    campaign: CampaignOption,
    status: Annotated[
        LeadStatus | None, typer.Option("--status", help="Only leads in this state.")
    ] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a campaign's leads in the order they were added, optionally in one state."""

    async def work(session: AsyncSession) -> Page[LeadOut]:
        owner = await acting_user(session, user)
        return await lead_page(
            session, owner.id, campaign, status=status, limit=limit, offset=offset
        )

    page = in_transaction(work)
    print_page(
        [lead.model_dump() for lead in page.items],
        [
            ("ID", "id"),
            ("Website", "website_url"),
            ("Email", "contact_email"),
            ("Name", "contact_name"),
            ("Status", "status"),
            ("Consent (UTC)", "consent_recorded_at"),
            ("Added (UTC)", "created_at"),
        ],
        total=page.total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@leads_app.command("status")
def set_status(
    campaign: CampaignOption,
    lead_id: Annotated[int, typer.Argument(help="Lead ID (in that campaign).", min=1, max=MAX_ID)],
    status: Annotated[LeadStatus, typer.Argument(help="The lead's new state.")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a lead's state by hand, e.g. `placed` once the guest post is live."""

    async def work(session: AsyncSession) -> Lead:
        owner = await acting_user(session, user)
        lead = await campaigns.get_lead(
            session, user_id=owner.id, campaign_id=campaign, lead_id=lead_id
        )
        if lead is None:
            raise NotFound(f"lead {lead_id} not found in campaign {campaign}")
        return await leads.set_status(session, lead, status)

    updated = LeadOut.from_row(in_transaction(work))
    if as_json:
        print_json(updated.model_dump(mode="json"))
        return
    typer.echo(f"Lead {updated.id} ({updated.website_url}) is now {updated.status}.")


def register(app: typer.Typer) -> None:
    app.add_typer(leads_app, name="leads")
