"""`sendwarden send`: one pitch through the full pipeline, straight on the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sendwarden.cli.attempts import attempt_record, print_attempt
from sendwarden.cli.errors import EXIT_BLOCKED, EXIT_USER_ERROR, CliError
from sendwarden.cli.output import print_error, print_json
from sendwarden.cli.state import JsonOption, UserOption, acting_user, settings, with_database
from sendwarden.services.context import PolicySettings
from sendwarden.services.send import SendRequest, SendResult
from sendwarden.services.wiring import build_pipeline, load_secret
from sendwarden.storage.db import Database
from sendwarden.transport.config import SmtpConfig


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not valid UTF-8 (byte {exc.start})") from exc


def send(
    campaign: Annotated[int, typer.Option("--campaign", min=1, help="Campaign ID.")],
    lead: Annotated[int, typer.Option("--lead", min=1, help="Lead ID (in that campaign).")],
    subject: Annotated[str, typer.Option("--subject", help="Subject line.")],
    body: Annotated[
        str | None, typer.Option("--body", help="Plain-text body (or use --body-file).")
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body-file",
            help="Read the plain-text body from this UTF-8 file.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html-file",
            help="Optional HTML alternative (UTF-8 file).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option("--sender", help="Requested sender address (alias rules apply)."),
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send one email to a lead through policy checks, quota reservation and SMTP.

    Exit status: 0 sent, 3 blocked by policy (or an identical send in progress),
    1 on errors, including an SMTP failure (the attempt is recorded as failed).
    """
    if body_file is not None:
        if body is not None:
            raise typer.BadParameter("give --body or --body-file, not both", param_hint="--body")
        body = _read_text(body_file)
    if body is None:
        raise typer.BadParameter("give --body or --body-file", param_hint="--body")
    html = _read_text(html_file) if html_file is not None else None
    config = settings()
    SmtpConfig.from_settings(config)  # fail early, naming the setting that is wrong
    request = SendRequest(
        campaign_id=campaign,
        lead_id=lead,
        subject=subject,
        body=body,
        html_body=html,
        sender_email=sender,
    )

    async def work(db: Database) -> SendResult:
        async with db.transaction() as session:
            owner = await acting_user(session, user)
        secret = await load_secret(config, db)
        pipeline, pool = build_pipeline(config, db, PolicySettings.from_settings(config), secret)
        try:
            return await pipeline.send(owner.id, request)
        finally:
            if pool is not None:
                await pool.close()

    result = with_database(work)
    record = attempt_record(result.attempt)
    if as_json:
        print_json({"outcome": result.outcome, **record})
    else:
        print_attempt(record)
    if result.outcome == "failed":
        attempt = result.attempt
        print_error(f"{attempt.reason} (attempt {attempt.id} is recorded as {attempt.status})")
        raise typer.Exit(EXIT_USER_ERROR)
    if result.outcome in ("blocked", "in_flight"):
        raise typer.Exit(EXIT_BLOCKED)


def register(app: typer.Typer) -> None:
    app.command()(send)
