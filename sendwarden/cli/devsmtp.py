"""`sendwarden dev-smtp`: the local SMTP capture server on its own, for development."""

from __future__ import annotations

import shlex
import tempfile
import threading
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Annotated

import typer

from sendwarden.devsmtp import DEFAULT_PASSWORD, DEFAULT_USERNAME, CapturedMessage, CaptureServer


def describe_message(message: CapturedMessage) -> str:
    """One log line per message (envelope, subject, size)."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(message.raw)
    subject = " ".join(str(headers.get("Subject", "")).split())
    stamp = datetime.now().strftime("%H:%M:%S")
    return (
        f"{stamp} received from=<{message.envelope_from}> to=<{','.join(message.rcpt_tos)}>"
        f" subject={subject!r} size={len(message.raw)}"
    )


def settings_exports(server: CaptureServer, password: str) -> list[str]:
    values = {
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(server.port),
        "SMTP_USER": server.username,
        "SMTP_PASS": password,
        "SMTP_CA_FILE": str(server.ca_file),
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def dev_smtp(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 2525,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to keep the Maildir and certificate (default: a temp dir).",
            file_okay=False,
        ),
    ] = None,
    user: Annotated[str, typer.Option("--user", help="SMTP AUTH user name.")] = DEFAULT_USERNAME,
    password: Annotated[
        str, typer.Option("--password", help="SMTP AUTH password.")
    ] = DEFAULT_PASSWORD,
) -> None:
    """Run a local SMTP capture server (STARTTLS + AUTH) that keeps every message.

    Prints the SMTP_* settings to point Sendwarden at it, then logs one line
    per received message until Ctrl-C. Nothing is relayed anywhere.
    """
    target = (directory or Path(tempfile.mkdtemp(prefix="sendwarden-devsmtp-"))).resolve()
    server = CaptureServer(
        target,
        username=user,
        password=password,
        port=port,
        on_message=lambda message: typer.echo(describe_message(message)),
    )
    server.start()
    try:
        typer.echo(f"SMTP capture server on 127.0.0.1:{server.port} (STARTTLS and AUTH required).")
        typer.echo("Settings for Sendwarden:")
        for line in settings_exports(server, password):
            typer.echo(f"  {line}")
        typer.echo(f"Messages are kept in the Maildir {server.directory / 'Maildir'}")
        typer.echo("Press Ctrl-C to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        typer.echo("Stopped.")
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    app.command("dev-smtp")(dev_smtp)
