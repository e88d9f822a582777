"""`sendwarden doctor`: check the configuration end to end, with a fix for each failure."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sendwarden.cli.errors import EXIT_USER_ERROR
from sendwarden.cli.output import out, print_json
from sendwarden.cli.state import JsonOption, settings
from sendwarden.config import Settings
from sendwarden.services.doctor import Check, all_passed
from sendwarden.services.doctor.connections import check_database, check_imap, check_smtp
from sendwarden.services.doctor.dns_records import check_dns
from sendwarden.services.doctor.mail_auth import check_dkim, check_public_url, sending_domain

MARKS = {
    "ok": "[green]✓ ok[/green]",
    "fail": "[red]✗ fail[/red]",
    "skip": "[yellow]- skip[/yellow]",
}


async def run_checks(config: Settings, *, dns: bool, nameserver: str | None) -> list[Check]:
    checks = [*await check_database(config), *await check_smtp(config), *await check_imap(config)]
    dkim_checks, record = check_dkim(config)
    checks += dkim_checks
    checks += check_public_url(config)
    if dns:
        domain = sending_domain(config)
        checks += await check_dns(domain, record, config.dkim_selector, nameserver)
    return checks


def doctor(
    dns: Annotated[
        bool, typer.Option("--dns", help="Also check the sending domain's SPF, DKIM and DMARC.")
    ] = False,
    nameserver: Annotated[
        str | None,
        typer.Option(
            "--nameserver",
            metavar="IP[:PORT]",
            help="Ask this DNS server instead of the system resolver (with --dns).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the configuration end to end and say how to fix what fails.

    Database reachable and migrated; SMTP connect, STARTTLS, certificate and AUTH
    (nothing is sent); IMAP login and folder; the DKIM key (and the DNS record to
    publish for it); SENDWARDEN_PUBLIC_URL; with --dns, SPF, DKIM and DMARC records.
    Exit status 0 only when nothing fails.
    """
    checks = asyncio.run(run_checks(settings(), dns=dns, nameserver=nameserver))
    passed = all_passed(checks)
    if as_json:
        print_json({"ok": passed, "checks": [c.as_dict() for c in checks]})
    else:
        table = Table("", "Check", "Result", "Fix", title="Sendwarden doctor", title_justify="left")
        for check in checks:
            table.add_row(
                MARKS[check.status],
                check.name,
                escape(check.detail),
                escape(check.fix or ""),
            )
        console = out()
        console.print(table)
        failures = sum(1 for c in checks if c.status == "fail")
        console.print("All checks passed." if passed else f"{failures} check(s) failed.")
    if not passed:
        raise typer.Exit(EXIT_USER_ERROR)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
