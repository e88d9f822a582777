"""`sendwarden serve`: crash recovery once, then the HTTP API under uvicorn."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from typing import Annotated

import typer
import uvicorn

from sendwarden.cli.errors import CliError
from sendwarden.cli.state import current, settings, with_database
from sendwarden.config import get_settings
from sendwarden.services.crash_recovery import recover_interrupted_sends
from sendwarden.storage.db import Database

APP_FACTORY = "sendwarden.api.app:create_app"
UVICORN_STARTUP_FAILURE = 3


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (each with its own pool).")
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs, metrics at /metrics).

    Before starting, sends a crash left `sending` on this host are marked
    `unknown` (see `sendwarden attempts list --status unknown`); a server still
    running on this host keeps its own.
    """
    config = settings()
    check_port_free(host, port)
    if not config.smtp_host:
        typer.echo(
            "Warning: SMTP_HOST is not set, so every send will fail: set SMTP_HOST (and"
            " SMTP_PORT, SMTP_USER, SMTP_PASS, SMTP_FROM_EMAIL), or run `sendwarden dev-smtp`"
            " for a local capture server.",
            err=True,
        )

    async def recover(db: Database) -> list[int]:
        return await recover_interrupted_sends(config, db)

    recovered = with_database(recover)
    if recovered:
        typer.echo(
            f"Marked {len(recovered)} interrupted send(s) as unknown: "
            "check them with `sendwarden attempts list --status unknown`.",
            err=True,
        )
    # The workers build their settings from the environment: hand them the override,
    # and tell them recovery has run (once for all of them).
    worker_env = {"SENDWARDEN_RECOVER_ON_START": "false"}
    if current().database_url:
        worker_env["DATABASE_URL"] = config.database_url
    metrics_dir = None
    if workers > 1:
        # Each process writes its samples here; /metrics aggregates them. Fresh per run,
        # because files left by an earlier run would be counted again.
        metrics_dir = tempfile.mkdtemp(prefix="sendwarden-metrics-")
        worker_env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ.update(worker_env)
    get_settings.cache_clear()
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=config.sendwarden_log_level.lower(),
            timeout_keep_alive=config.sendwarden_keep_alive,
        )
    except SystemExit as exc:
        if exc.code == UVICORN_STARTUP_FAILURE:  # e.g. the port was taken after the check
            raise CliError(
                f"the server could not start on {host}:{port} (see the log line above)"
            ) from None
        raise
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def check_port_free(host: str, port: int) -> None:
    """Fail with one line before starting when the address is taken: uvicorn would log
    the error as JSON and exit 3, which this CLI uses for "blocked by policy"."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"port {port} on {host} is already in use: stop the other server or"
                    " choose another with --port"
                ) from None
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
