"""The `sendwarden` command: a thin edge over the services and storage.

Exit status: 0 success, 1 user error (one line on stderr; `--debug` shows the
traceback), 2 bad usage, 3 a send or check blocked by policy.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sendwarden import __version__
from sendwarden.cli import (
    attempts,
    audit,
    campaigns,
    database,
    demo,
    devsmtp,
    leads,
    poll,
    replies,
    send,
    serve,
    suppress,
    users,
    validate,
    webhooks,
)
from sendwarden.cli.errors import EXIT_USER_ERROR, describe
from sendwarden.cli.output import print_error
from sendwarden.cli.state import CliState, begin, current


class SendwardenGroup(TyperGroup):
    """Turns expected failures of any subcommand into one line on stderr and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            state = current()
            message = describe(exc, state.configured_database_url)
            if message is None or state.debug:
                raise
            print_error(message)
            raise typer.Exit(EXIT_USER_ERROR) from None


app = typer.Typer(
    name="sendwarden",
    cls=SendwardenGroup,
    help=(
        "Sendwarden: a compliance-first gateway for cold outreach email.\n\n"
        "Settings come from the environment and an optional .env file (DATABASE_URL,"
        " SMTP_*, IMAP_*, SENDWARDEN_*). Exit status: 0 success, 1 error, 2 bad usage,"
        " 3 blocked by policy (validate, send)."
    ),
    no_args_is_help=True,
    # Plain tracebacks under --debug; Rich's would print local variables, secrets included.
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"sendwarden {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Use this database instead of DATABASE_URL.",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Sendwarden: a compliance-first gateway for cold outreach email."""
    begin(CliState(database_url=database_url, debug=debug))


for module in (
    database,
    users,
    campaigns,
    leads,
    replies,
    validate,
    send,
    suppress,
    audit,
    attempts,
    poll,
    serve,
    demo,
    devsmtp,
    webhooks,
):
    module.register(app)


def run() -> None:
    """Console-script entry point."""
    app(prog_name="sendwarden")


if __name__ == "__main__":
    run()
