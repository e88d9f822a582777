"""`sendwarden leads ...`: the websites (and contacts) of a campaign."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.api.schemas import LeadCreate, LeadOut, Page
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
from sendwarden.services import leads
from sendwarden.services.campaigns import owned_campaign
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.storage import campaigns
from sendwarden.storage.models import Lead, LeadStatus
from sendwarden.webhooks import emit as webhook_events

leads_app = typer.Typer(
    help="Add, import, list and update the leads (websites) of a campaign.", no_args_is_help=True
)

LEAD_COLUMNS = ("website_url", "contact_email", "contact_name", "consent", "notes")
PREVIEW_CHARS = 80


def lead_input(values: dict[str, Any]) -> leads.LeadInput:
    """Checked like the HTTP API's lead body: the address through `normalize_email`, and so on.

    Raises InvalidInput naming the field; the website itself is checked by the service.
    """
    body = validated(LeadCreate, values)
    return leads.LeadInput(
        website_url=body.website_url,
        contact_email=body.contact_email,
        contact_name=body.contact_name,
        consent=body.consent,
        notes=body.notes,
    )


# -- CSV reading (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    """One record of a lead CSV: its first line number and its non-empty cells, or an error."""

    line: int
    values: dict[str, str]
    error: str | None = None

    @property
    def preview(self) -> str:
        value = self.values.get("website_url", "")
        return value if len(value) <= PREVIEW_CHARS else value[: PREVIEW_CHARS - 3] + "..."


class _NumberedLines:
    """Feeds csv.reader decoded lines while noting where it is and which lines were not UTF-8.

    Decoding line by line (not the whole file) keeps the good rows of a file with a few
    bytes in another encoding.
    """

    def __init__(self, data: bytes) -> None:
        self._raw = data.splitlines(keepends=True)
        self.consumed = 0
        self.undecodable: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._raw, start=1):
            self.consumed = number
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                self.undecodable.append(number)


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    expected = ",".join(LEAD_COLUMNS)
    unknown = [name for name in names if name not in LEAD_COLUMNS]
    if "website_url" not in names or unknown:
        problem = f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else "no column"
        raise CliError(f"the first line must be a header of {expected} ({problem} in it)")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CliError(f"the header names {', '.join(duplicated)} more than once")
    return names


def _record(line: int, header: list[str], cells: list[str]) -> CsvRow:
    stripped = [cell.strip() for cell in cells]
    values = {name: value for name, value in zip(header, stripped, strict=False) if value}
    if any(stripped[len(header) :]):
        return CsvRow(line, values, f"more cells than the header's {len(header)} columns")
    return CsvRow(line, values)


def parse_lead_csv(data: bytes) -> list[CsvRow]:
    """The records of a lead CSV with a header row; blank lines are skipped.

    Undecodable and malformed lines come back as rows with an error, in file order.
    Raises CliError when the header is missing or names unknown columns.
    """
    lines = _NumberedLines(data)
    reader = csv.reader(iter(lines))
    header: list[str] | None = None
    rows: list[CsvRow] = []
    reported = 0
    while True:
        before = lines.consumed
        try:
            cells = next(reader, None)
            error = None
        except csv.Error as exc:
            cells, error = None, f"malformed CSV: {exc}"
        newly_undecodable = lines.undecodable[reported:]
        reported = len(lines.undecodable)
        rows.extend(CsvRow(n, {}, "line is not valid UTF-8") for n in newly_undecodable)
        first = next(
            (n for n in range(before + 1, lines.consumed + 1) if n not in newly_undecodable),
            lines.consumed,
        )
        if error is not None:
            rows.append(CsvRow(first, {}, error))
            continue
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = _header(cells)
            continue
        rows.append(_record(first, header, cells))
    if header is None:
        raise CliError(f"no header line: the first line must be {','.join(LEAD_COLUMNS)}")
    return rows


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
    rows = parse_lead_csv(data)

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
        await owned_campaign(session, owner.id, campaign)
        rows, total = await campaigns.list_leads(
            session,
            user_id=owner.id,
            campaign_id=campaign,
            status=status.value if status else None,
            limit=limit,
            offset=offset,
        )
        return Page(
            items=[LeadOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset
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
        await webhook_events.lead_status(session, lead, status.value)
        lead.status = status.value
        await session.flush()
        return lead

    updated = LeadOut.from_row(in_transaction(work))
    if as_json:
        print_json(updated.model_dump(mode="json"))
        return
    typer.echo(f"Lead {updated.id} ({updated.website_url}) is now {updated.status}.")


def register(app: typer.Typer) -> None:
    app.add_typer(leads_app, name="leads")
