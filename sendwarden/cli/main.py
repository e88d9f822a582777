"""The `sendwarden` command: a thin edge over the services and storage.

Exit status: 0 success, 1 user error (one line on stderr; `--debug` shows the
traceback), 2 bad usage, 3 a send or check blocked by policy.

Start-up is kept short (`--help` and `--version` well under a second) by loading a
command's module, and with it SQLAlchemy, FastAPI, aiosmtplib and the rest, only
when that command runs: `COMMANDS` names the module of each command and the one-line
summary the top-level help shows without importing it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from sendwarden import __version__
from sendwarden.cli.errors import EXIT_USER_ERROR, describe
from sendwarden.cli.output import print_error
from sendwarden.cli.state import CliState, begin, current

# name -> (module under sendwarden.cli, summary for the top-level help), in help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("database", "Create the database, or bring its schema up to date. Safe to run again."),
    "migrate": (
        "database",
        "Apply schema migrations explicitly (the same as `init` for the default revision).",
    ),
    "validate": (
        "validate",
        "Dry-run every policy rule for a prospective send and record it in the audit log.",
    ),
    "send": (
        "send",
        "Send one email to a lead through policy checks, quota reservation and SMTP.",
    ),
    "poll": (
        "poll",
        "Fetch new inbound mail once and apply it (suppress bounces, unsubscribes, ...).",
    ),
    "serve": ("serve", "Serve the HTTP API (OpenAPI docs at /docs, metrics at /metrics)."),
    "doctor": ("doctor", "Check the configuration end to end and say how to fix what fails."),
    "demo": ("demo", "Run the real pipeline locally: no configuration, no network, a few seconds."),
    "dev-smtp": (
        "devsmtp",
        "Run a local SMTP capture server (STARTTLS + AUTH) that keeps every message.",
    ),
    "users": ("users", "Create and list users."),
    "keys": ("users", "Create, list and revoke API keys (keys are shown once, stored hashed)."),
    "campaigns": ("campaigns", "Create, list, show and delete campaigns."),
    "leads": ("leads", "Add, import, list and update the leads (websites) of a campaign."),
    "replies": ("replies", "List a campaign's replies and correct their classification."),
    "suppress": (
        "suppression",
        "Manage the suppression list (addresses or whole domains, per user or global).",
    ),
    "audit": ("audit", "Read, verify and export the audit log."),
    "attempts": ("attempts", "List and inspect send attempts."),
    "bounces": ("bounces", "List hard and soft bounces with their evidence."),
    "incidents": (
        "bounces",
        "List sender-side incidents (blocks, reputation) with their evidence.",
    ),
    "webhooks": (
        "webhooks",
        "Manage signed event webhooks: endpoints, deliveries, retries, tests.",
    ),
}


def load_commands(module_name: str) -> dict[str, Any]:
    """The click commands a CLI module registers (importing it, and what it uses)."""
    module = importlib.import_module(f"sendwarden.cli.{module_name}")
    holder = typer.Typer()
    module.register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyCommands(MutableMapping[str, Any]):
    """The subcommands, each built from its module on first access."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded.update(load_commands(COMMANDS[name][0]))
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*COMMANDS, *(n for n in self._loaded if n not in COMMANDS)])

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))


class SendwardenGroup(TyperGroup):
    """Loads subcommands on demand, and turns expected failures of any of them into
    one line on stderr and exit 1."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands()
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: Typer's own version loads every command

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing and cmd_name in COMMANDS:
            # The top-level help only needs the summary: don't import the command.
            return TyperCommand(name=cmd_name, short_help=COMMANDS[cmd_name][1])
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

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


def _plain_unix_help() -> None:
    """Help that reads like a Unix tool's: `--debug`, not `--debug <bool>`, and
    `users create [OPTIONS] NAME`, not `{name}`. Typer 0.29 has no setting for
    either, so its two display methods are adjusted here, once, for this CLI."""
    option_type = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return option_type(self, ctx)

    def usage_display_name(self: TyperArgument) -> str:
        name = self.display_name_raw.upper()
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperArgument._usage_display_name = usage_display_name  # type: ignore[method-assign]


_plain_unix_help()

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
            metavar="URL",
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


def run() -> None:
    """Console-script entry point."""
    app(prog_name="sendwarden")


if __name__ == "__main__":
    run()
