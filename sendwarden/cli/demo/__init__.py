"""`sendwarden demo`: the whole loop on this machine, with no configuration."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from sendwarden.cli.demo.environment import DemoEnvironment
from sendwarden.cli.demo.render import render, render_next_steps
from sendwarden.cli.demo.scenario import DemoReport, run_scenario

# Output piped to a file or a test runner is as wide as COLUMNS says, else this.
PIPED_WIDTH = 100


def console() -> Console:
    """The terminal's width on a terminal (Rich wraps the tables to fit it)."""
    terminal = Console(highlight=False)
    if terminal.is_terminal or os.environ.get("COLUMNS"):
        return terminal
    return Console(highlight=False, width=PIPED_WIDTH)


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Directory for the demo database and captured mail (kept afterwards;"
            " default: a temporary directory, removed at the end).",
            file_okay=False,
        ),
    ] = None,
    keep_dir: Annotated[
        bool,
        typer.Option("--keep-dir", help="Keep the temporary directory to look at afterwards."),
    ] = False,
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
    """Run the whole loop locally: no configuration, no network, a few seconds.

    Creates a SQLite database, starts a local SMTP capture server (STARTTLS
    with a self-signed certificate, AUTH, messages kept in a Maildir) and the
    HTTP API, then drives the API with an API key: a campaign with leads in
    the EU, the UK and the US, a suppression, a policy check and sends, three
    of which are blocked (suppression, daily domain cap, duplicate). Then the
    way back: a hard bounce and an "unsubscribe me" reply go through the
    inbound parsing and processing, a one-click unsubscribe through the API,
    and the suppression list shows the result. Ignores DATABASE_URL, SMTP_*
    and any `.env` file.
    """
    target = directory or Path(tempfile.mkdtemp(prefix="sendwarden-demo-"))
    temporary = directory is None and not keep_dir
    out = console()
    try:
        asyncio.run(_run(target, keep_running, out, kept=not temporary))
    except KeyboardInterrupt:
        out.print("Demo stopped.")
    finally:
        if temporary:
            shutil.rmtree(target, ignore_errors=True)
    if temporary:
        out.print(f"\nRemoved {escape(str(target))} (--keep-dir keeps it).")
    render_next_steps(out)


async def _run(directory: Path, keep_running: bool, out: Console, *, kept: bool) -> None:
    async with DemoEnvironment(directory) as env:
        out.print(f"[bold]Sendwarden demo[/bold] in {escape(str(env.directory))}")
        out.print(f"  API server:  {env.api_url}")
        if env.capture is not None:
            out.print(
                f"  SMTP server: localhost:{env.capture.port} (STARTTLS, AUTH, local capture only)"
            )
        report = await run_scenario(env)
        render(report, out, kept=kept or keep_running)
        if keep_running:
            _print_keep_running(report, out)
            await env.serve_until_stopped()


def _print_keep_running(report: DemoReport, out: Console) -> None:
    out.print(f"\nStill running. API: {report.api_url} (OpenAPI docs at {report.api_url}/docs)")
    out.print(f"Dashboard: {report.api_url}/ui (sign in with the key below)")
    out.print("API key of the demo user (admin):")
    out.print(report.api_key, markup=False, highlight=False, soft_wrap=True)
    out.print("Press Ctrl-C to stop.")


def register(app: typer.Typer) -> None:
    app.command()(demo)
