"""`sendwarden demo`: the whole pipeline on this machine, with no configuration."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sendwarden.cli.output import out as stdout_console
from sendwarden.services.demo import DemoEnvironment, DemoReport


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Directory for the demo database and captured mail (default: a new temp dir).",
            file_okay=False,
        ),
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            "--keep",
            help="Keep the API, the dashboard and the SMTP capture server up afterwards"
            " (Ctrl-C stops).",
        ),
    ] = False,
) -> None:
    """Run the real pipeline locally: no configuration, no network, a few seconds.

    Creates a SQLite database, starts a local SMTP capture server (STARTTLS
    with a self-signed certificate, AUTH, messages kept in a Maildir) and the
    HTTP API, then drives the API with an API key: a campaign with leads in
    the EU, the UK and the US, a suppression, a policy check and sends, three
    of which are blocked (suppression, daily domain cap, duplicate). Ignores
    DATABASE_URL, SMTP_* and any `.env` file.
    """
    target = directory or Path(tempfile.mkdtemp(prefix="sendwarden-demo-"))
    out = stdout_console()
    try:
        asyncio.run(_run(target, keep_running, out))
    except KeyboardInterrupt:
        out.print("Demo stopped.")


async def _run(directory: Path, keep_running: bool, out: Console) -> None:
    async with DemoEnvironment(directory) as env:
        out.print(f"[bold]Sendwarden demo[/bold] in {escape(str(env.directory))}")
        out.print(f"  API server:  {env.api_url}")
        if env.capture is not None:
            out.print(
                f"  SMTP server: localhost:{env.capture.port} (STARTTLS, AUTH, local capture only)"
            )
        report = await env.run_scenario()
        render(report, out)
        if keep_running:
            _print_keep_running(report, out)
            await env.serve_until_stopped()


def render(report: DemoReport, out: Console) -> None:
    v = report.validation
    out.print(
        f"\nPOST /policy/validate {escape(str(v['recipient_email']))}: "
        f"{'allowed' if v['allowed'] else 'blocked'} (region {v['region']},"
        f" legal basis {v['legal_basis']}, domain {v['daily_domain_count']}/"
        f"{v['daily_domain_limit']} today)"
    )
    table = Table(title="Sends through POST /outreach/send", title_justify="left")
    for column in ("Attempt", "Recipient", "Region", "Legal basis", "Result", "Reason", "Shows"):
        table.add_column(column)
    for send in report.sends:
        result = "[green]sent[/green]" if send.rule is None else f"[red]blocked: {send.rule}[/red]"
        table.add_row(
            str(send.attempt_id),
            escape(send.recipient),
            send.region,
            send.legal_basis,
            result,
            escape(send.reason),
            escape(send.shows),
        )
    out.print(table)
    sent = sum(1 for s in report.sends if s.rule is None)
    rules = ", ".join(s.rule for s in report.sends if s.rule is not None)
    out.print(f"{sent} sent, {len(report.sends) - sent} blocked ({rules}).")
    eml_files = sorted(report.eml_dir.glob("*.eml"))
    out.print(f"\nCaptured {report.captured} messages (nothing left this machine):")
    out.print(f"  Maildir:     {escape(str(report.maildir))}")
    out.print(f"  .eml files:  {escape(str(report.eml_dir))} ({len(eml_files)} .eml files)")
    out.print(f"  Database:    {escape(str(report.database_file))}")
    out.print(
        "  Inspect it:  sendwarden --database-url "
        f"{escape('sqlite:///' + str(report.database_file))} audit list"
    )


def _print_keep_running(report: DemoReport, out: Console) -> None:
    out.print(f"\nStill running. API: {report.api_url} (OpenAPI docs at {report.api_url}/docs)")
    out.print(f"Dashboard: {report.api_url}/ui (sign in with the key below)")
    out.print("API key of the demo user (admin):")
    out.print(report.api_key, markup=False, highlight=False, soft_wrap=True)
    out.print("Press Ctrl-C to stop.")


def register(app: typer.Typer) -> None:
    app.command()(demo)
